/** Injection token of the {@link UploadLocks}. */
export const UPLOAD_LOCKS = Symbol('UPLOAD_LOCKS');

/**
 * One writer per resumable upload. `acquire` never waits: it gives the lock or says it is taken,
 * so a second request for the same upload is refused (423) instead of interleaving its bytes.
 */
export interface UploadLocks {
  /** The lock's release, or undefined when another request holds it. */
  acquire(id: string): Promise<(() => Promise<void>) | undefined>;
}

/** Locks of one process: enough when a single process writes the uploads (the `memory` transport). */
export class InProcessUploadLocks implements UploadLocks {
  private readonly held = new Set<string>();

  async acquire(id: string): Promise<(() => Promise<void>) | undefined> {
    if (this.held.has(id)) return undefined;
    this.held.add(id);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.held.delete(id);
    };
  }
}
