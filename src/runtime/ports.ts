/**
 * Ports between processes. With one process (SQLite) there is nobody to tell;
 * with several on PostgreSQL, LISTEN/NOTIFY carries these. Redis or NATS could
 * replace that adapter behind the same interfaces.
 */

/** What other processes tell this one. */
export interface FeedHandlers {
  /** Events of `sessionId` up to `seq` are durable. */
  announced(sessionId: string, seq: number): void;
  /** The session was deleted. */
  deleted(sessionId: string): void;
  /** Someone asked this process, the run's owner, to cancel it. */
  cancelRequested(sessionId: string, runId: string): void;
}

export interface EventFeed {
  /** Starts listening; handlers are called for other processes' news (and possibly this one's own). */
  start(handlers: FeedHandlers): Promise<void>;
  /** Tells the other processes a session was deleted. */
  announceDeleted(sessionId: string): Promise<void>;
  /** Asks the instance `owner` to cancel its run `runId` of `sessionId`. */
  requestCancel(owner: string, sessionId: string, runId: string): Promise<void>;
  close(): Promise<void>;
}
