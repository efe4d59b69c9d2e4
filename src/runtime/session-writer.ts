/**
 * Writes one session's changes in order. While a write is in flight, later
 * changes gather and go out together as the next write: a burst of tokens
 * costs one commit, not one each. A change is acknowledged only once durable.
 */
import type { SessionContext } from '../../machines/session.machine.js';
import type { Message, SessionEvent, SessionState } from '../domain/types.js';
import { now } from '../domain/ids.js';
import type { Commit, Store } from '../storage/store.js';

export interface Change {
  events: SessionEvent[];
  messages: Message[];
  /** The machine's new snapshot, when it moved, encoded for storage… */
  snapshot?: { state: SessionState; data: string };
  /** …and as it is, for views once it is durable. */
  machine?: { state: SessionState; context: SessionContext };
  /** A state change, for the session index; no `from` for a new session. */
  move?: { from?: SessionState; to: SessionState };
}

export class SessionWriter {
  private pending: Change[] = [];
  private flushing: Promise<void> | null = null;
  private durableVersion: number;
  private durableAt: string;

  constructor(
    private readonly sessionId: string,
    private readonly store: Store,
    version: number,
    updatedAt: string,
    private readonly onDurable: (changes: readonly Change[]) => void,
  ) {
    this.durableVersion = version;
    this.durableAt = updatedAt;
  }

  get version(): number {
    return this.durableVersion;
  }

  get updatedAt(): string {
    return this.durableAt;
  }

  get isIdle(): boolean {
    return this.flushing === null;
  }

  add(change: Change): void {
    this.pending.push(change);
    this.flushing ??= this.flush();
  }

  /** Resolves once every change added so far is durable; rejects if a write failed. */
  settled(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  private async flush(): Promise<void> {
    try {
      // Let the rest of this tick's changes (a command's several events, a burst of tokens) join the write.
      await Promise.resolve();
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const commit = this.merge(batch);
        await this.store.commit(commit);
        this.durableVersion += 1;
        this.durableAt = commit.updatedAt;
        this.onDurable(batch);
      }
    } finally {
      this.flushing = null;
    }
  }

  private merge(batch: readonly Change[]): Commit {
    const snapshot = batch.findLast((change) => change.snapshot)?.snapshot;
    return {
      sessionId: this.sessionId,
      expectedVersion: this.durableVersion,
      updatedAt: now(),
      ...(snapshot ? { snapshot } : {}),
      events: batch.flatMap((change) => change.events),
      messages: batch.flatMap((change) => change.messages),
    };
  }
}
