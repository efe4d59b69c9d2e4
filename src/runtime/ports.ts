/**
 * Ports between processes. With one process (SQLite) there is nobody to tell;
 * with several on PostgreSQL, LISTEN/NOTIFY carries these. Redis or NATS could
 * replace that adapter behind the same interfaces.
 */
import type { Message } from '../domain/types.js';

/** How long the owner of a run has to act on a command; then the asker presumes it gone and acts in storage itself. */
export const OWNER_GRACE_MS = 3_000;

/**
 * What only the process running a session's run may do while it runs (every
 * other process leaves the session's writes to it): asked for by another.
 */
export type OwnerCommand =
  /**
   * `keepPartial`: keep what the run said so far, as an interrupted assistant message.
   * `holdQueue`: the asker's message runs next (interrupt, rollback), so the queue waits for it a while.
   */
  | { kind: 'cancel'; runId: string; keepPartial: boolean; holdQueue?: boolean }
  | { kind: 'enqueue'; message: Message; maxQueued: number }
  | { kind: 'dequeue'; messageId: string };

/** What other processes tell this one. */
export interface FeedHandlers {
  /** Events of `sessionId` up to `seq` are durable. */
  announced(sessionId: string, seq: number): void;
  /** The session was deleted. */
  deleted(sessionId: string): void;
  /** Another process asks this one, the run's owner, to act on the session. */
  commandRequested(sessionId: string, command: OwnerCommand): void;
}

export interface EventFeed {
  /** Starts listening; handlers are called for other processes' news (and possibly this one's own). */
  start(handlers: FeedHandlers): Promise<void>;
  /** Tells the other processes a session was deleted. */
  announceDeleted(sessionId: string): Promise<void>;
  /** Asks the instance `owner`, which runs the session's run, to carry out `command`. */
  requestCommand(owner: string, sessionId: string, command: OwnerCommand): Promise<void>;
  close(): Promise<void>;
}
