/**
 * The storage port. Every adapter (SQLite, PostgreSQL) passes the contract
 * suite in test/contract. Writes are compare-and-set on the session's
 * `version`, and a commit's events and messages land in the same transaction
 * as its state change.
 */
import type { Message, SessionEvent, SessionInfo, SessionState } from '../domain/types.js';

export interface SessionRow {
  info: SessionInfo;
  state: SessionState;
  /** The runtime's encoded snapshot; opaque to the store. */
  snapshot: string;
  version: number;
  last_event_seq: number;
  message_count: number;
  updated_at: string;
}

export interface Commit {
  sessionId: string;
  /** The version the writer last saw; the commit fails with `VersionConflict` otherwise. It becomes `expectedVersion + 1`. */
  expectedVersion: number;
  updatedAt: string;
  /** Present when the session's state machine moved. */
  snapshot?: { state: SessionState; data: string };
  /** Continue the log: the first `seq` is the stored `last_event_seq + 1`, without gaps. */
  events: SessionEvent[];
  messages: Message[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface IdempotencyRecord {
  key: string;
  method: string;
  path: string;
  bodyHash: string;
  status: number;
  body: string;
  createdAt: string;
}

export class VersionConflict extends Error {
  constructor(sessionId: string, expected: number) {
    super(`Session ${sessionId} is not at version ${expected}`);
    this.name = 'VersionConflict';
  }
}

export interface Store {
  /** Inserts a new session (version 1) with its first events. */
  createSession(row: SessionRow, events: SessionEvent[]): Promise<void>;
  loadSession(id: string): Promise<SessionRow | null>;
  commit(commit: Commit): Promise<void>;
  /** Removes the session with its messages and events. */
  deleteSession(id: string): Promise<boolean>;
  /** Newest first. */
  listSessions(query: { limit: number; cursor?: string; state?: SessionState }): Promise<Page<SessionRow>>;
  sessionIdsInState(state: SessionState): Promise<string[]>;
  countByState(): Promise<Record<SessionState, number>>;
  /** Events with `seq > after`, in order. */
  readEvents(sessionId: string, after: number, limit: number): Promise<SessionEvent[]>;
  /** Oldest first; `cursor` is a previous page's `nextCursor`. */
  readMessages(sessionId: string, query: { limit: number; cursor?: string }): Promise<Page<Message>>;
  getIdempotency(key: string): Promise<IdempotencyRecord | null>;
  /** Keeps the first record for a key. */
  putIdempotency(record: IdempotencyRecord): Promise<void>;
  /** Forgets idempotency records created before `before`. */
  purgeIdempotency(before: string): Promise<number>;
  /** Resolves when the store answers; for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
