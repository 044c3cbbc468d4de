import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closeFd, fsyncFd, isNotFound, mkdirDurable, openFd, syncDir, writeAll } from '../common/durable-fs.js';

const NODE_ID_FILE = 'node-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The id of the disk under `storageRoot`, made once (a UUID in `<root>/node-id`, fsynced) and read
 * ever after. With staging local to each node, a node's queue is named after it: a node that comes
 * back with its disk finds its own unfinished jobs, and processes that do share one root share one id.
 */
export async function nodeIdOf(storageRoot: string): Promise<string> {
  const path = join(storageRoot, NODE_ID_FILE);
  const existing = await readNodeId(path);
  if (existing) return existing;
  await mkdirDurable(storageRoot);
  const id = randomUUID();
  let fd: number;
  try {
    fd = await openFd(path, 'wx');
  } catch (err) {
    // Another process on this root made it first: its id is the one.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readNodeId(path))!;
    throw err;
  }
  try {
    await writeAll(fd, [Buffer.from(`${id}\n`)]);
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
  await syncDir(storageRoot);
  return id;
}

async function readNodeId(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (!UUID.test(text)) throw new Error(`${path} does not hold a node id (a UUID); remove it to make a new one`);
  return text;
}
