import { statfs } from 'node:fs/promises';

export interface DiskSpace {
  /** Bytes an unprivileged process may still write. */
  freeBytes: number;
  totalBytes: number;
}

/** Free and total space of the file system holding `path`. */
export async function diskSpace(path: string): Promise<DiskSpace> {
  const fs = await statfs(path);
  return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
}
