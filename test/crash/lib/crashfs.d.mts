// Types for the TypeScript e2e suites that mount crashfs as a fault layer (test/outages.e2e-spec.ts).
export declare const INSTALL_HINT: string;
export declare function fuseTools(): { python: string; fusermount: string };
export declare function mountCrashFs(options: {
  backing: string;
  mountpoint: string;
  journalDir: string;
  ignoreFsyncdir?: string;
  slowFsyncdir?: string;
  /** A file of `ERRNO /prefix` lines: while it holds one, changes under that prefix fail with that errno. */
  faults?: string;
}): Promise<{ unmount(): Promise<void> }>;
