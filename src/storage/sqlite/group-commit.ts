/**
 * Group commit: every write that arrives within one turn of the event loop
 * shares one SQLite transaction. Should one of them fail (a version conflict,
 * a taken key), that transaction is rolled back and each write is run again
 * in its own, so only the failing one fails: savepoints would cost every
 * write, where a failure is rare. A write resolves only once durable.
 */
import type Database from 'better-sqlite3';

interface Queued {
  write: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private queued: Queued[] = [];
  private readonly alone: (write: () => void) => void;
  private readonly together: (writes: readonly (() => void)[]) => void;

  /** `failure` restates what a write threw as the store port's error. */
  constructor(
    private readonly db: Database.Database,
    private readonly failure: (error: unknown) => unknown,
  ) {
    this.alone = db.transaction((write: () => void) => write());
    this.together = db.transaction((writes: readonly (() => void)[]) => {
      for (const write of writes) write();
    });
  }

  /** Runs `write` in the next group transaction. */
  write(write: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ write, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Commits what is waiting now (also before the database closes). */
  flush(): void {
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    if (batch.length > 1) {
      try {
        this.ensureOpen();
        this.together(batch.map(({ write }) => write));
        for (const { resolve } of batch) resolve();
        return;
      } catch {
        // Rolled back as a whole: below, each on its own.
      }
    }
    for (const { write, resolve, reject } of batch) {
      try {
        this.ensureOpen();
        this.alone(write);
        resolve();
      } catch (error) {
        reject(this.failure(error));
      }
    }
  }

  private ensureOpen(): void {
    if (!this.db.open) throw new Error('The database is closed');
  }
}
