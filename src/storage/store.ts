/**
 * The storage port. Every adapter (SQLite, PostgreSQL) passes the contract
 * suite in test/contract. Writes are compare-and-set on the session's
 * `version`, and a commit's events, messages, lease and idempotency record
 * land in the same transaction as its state change.
 */
import type { SessionEvent } from '../domain/events.js';
import type { Message, RunStatus, SessionInfo, SessionState } from '../domain/types.js';

export interface SessionRow {
  info: SessionInfo;
  state: SessionState;
  /** The runtime's encoded snapshot; opaque to the store. */
  snapshot: string;
  version: number;
  last_event_seq: number;
  message_count: number;
  updated_at: string;
  /** The instance whose process runs the active run; null when no run is active. */
  lease_owner: string | null;
  /** Raised by one at every run start: the fencing token of the latest run. */
  lease_epoch: number;
}

/** A lease on the session's new run (expiring `ttlMs` from now by the store's clock), or its release. */
export type LeaseChange = { owner: string; epoch: number; ttlMs: number } | { release: true };

export interface Commit {
  sessionId: string;
  /** The version the writer last saw; the commit fails with `VersionConflict` otherwise. It becomes `expectedVersion + 1`. */
  expectedVersion: number;
  updatedAt: string;
  /** Present when the session's state machine moved. */
  snapshot?: { state: SessionState; data: string; lastRunStatus: RunStatus | null; queued: number };
  /** Continue the log: the first `seq` is the stored `last_event_seq + 1`, without gaps. */
  events: SessionEvent[];
  messages: Message[];
  /** Messages that leave the transcript (a rollback), by id; the log keeps them. */
  removeMessages?: string[];
  lease?: LeaseChange;
  /** Set on a run start: the commit fails with `TooManyRuns` if the tenant already has `max` sessions running. */
  runLimit?: { tenant: string; max: number };
  /** Commit only if the session's lease has expired: recovery's fence against an owner that is still alive. */
  onlyIfLeaseExpired?: boolean;
  /** The responses that acknowledge this change, kept for `Idempotency-Key` replays. */
  idempotency?: IdempotencyRecord[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface IdempotencyRecord {
  tenant: string;
  key: string;
  method: string;
  path: string;
  bodyHash: string;
  status: number;
  body: string;
  createdAt: string;
}

/** The commit lost a race: someone else wrote the session first. Reload and re-evaluate. */
export class VersionConflict extends Error {
  constructor(sessionId: string, expected: number) {
    super(`Session ${sessionId} is not at version ${expected}`);
    this.name = 'VersionConflict';
  }
}

/** The commit's `Idempotency-Key` was stored by another request first: answer with that one's response. */
export class IdempotencyKeyTaken extends Error {
  constructor(readonly tenant: string, readonly key: string) {
    super(`Idempotency-Key ${key} is already stored`);
    this.name = 'IdempotencyKeyTaken';
  }
}

/**
 * Storage cannot do its part now: unreachable (a lost connection, a database
 * restarting), full (no space left) or damaged (a corrupt page). Nothing was
 * written; the request may be retried once it recovers. Adapters translate
 * their own errors into this.
 */
export class StorageUnavailable extends Error {
  constructor(
    readonly reason: 'unreachable' | 'full' | 'damaged',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageUnavailable';
  }
}

/** Starting this run would put its tenant over its limit of concurrent runs; nothing was written. */
export class TooManyRuns extends Error {
  constructor(readonly tenant: string, readonly limit: number) {
    super(`Tenant ${tenant} already has ${limit} runs in progress`);
    this.name = 'TooManyRuns';
  }
}

/** What a tenant has stored: for quotas. */
export interface TenantUsage {
  sessions: number;
  /** The bytes its sessions' logs, transcripts and snapshots take, as the store counts them. */
  bytes: number;
}

export interface ListQuery {
  tenant: string;
  limit: number;
  cursor?: string;
  state?: SessionState;
}

/** Stored responses for `Idempotency-Key`; written by `Commit.idempotency`, in the change's own transaction. */
export interface IdempotencyStore {
  getIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | null>;
  /** Forgets records created before `before`. */
  purgeIdempotency(before: string): Promise<number>;
}

/** An API key as stored: its hash only, never the key itself. */
export interface ApiKeyRecord {
  id: string;
  tenant: string;
  name: string | null;
  /** SHA-256 of the key, hex. */
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

/** API keys managed with `bamboo-server keys`. */
export interface KeyStore {
  createApiKey(record: Omit<ApiKeyRecord, 'revoked_at'>): Promise<void>;
  /** Every key, revoked ones too, oldest first. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** False when there is no such key or it was already revoked. */
  revokeApiKey(id: string, at: string): Promise<boolean>;
  /** The key with this hash, unless revoked. */
  findApiKey(hash: string): Promise<ApiKeyRecord | null>;
  /** How many keys are not revoked. */
  countActiveApiKeys(): Promise<number>;
}

export interface Store {
  /** `sqlite` is one process's file; `postgres` is shared by many instances. */
  readonly kind: 'sqlite' | 'postgres';
  /** True when other processes may write: cached state must then be checked against `sessionVersion`. */
  readonly shared: boolean;
  /** A human-readable location for logs (a file path, or a URL without its password). */
  readonly location: string;

  /** Inserts a new session (version 1) with its first events. */
  createSession(row: SessionRow, events: SessionEvent[], idempotency?: IdempotencyRecord): Promise<void>;
  loadSession(id: string): Promise<SessionRow | null>;
  /** The stored version, or null when the session does not exist. */
  sessionVersion(id: string): Promise<number | null>;
  commit(commit: Commit): Promise<void>;
  /** Removes the session with its messages and events. */
  deleteSession(id: string): Promise<boolean>;
  /** Newest first, the tenant's sessions only. */
  listSessions(query: ListQuery): Promise<Page<SessionRow>>;
  countByState(): Promise<Record<SessionState, number>>;
  /**
   * Events with `seq > after`, in order: at most `limit`, and, past the first,
   * only while their stored size stays within `maxBytes` (default: no budget).
   */
  readEvents(sessionId: string, after: number, limit: number, maxBytes?: number): Promise<SessionEvent[]>;
  /** Oldest first; `cursor` is a previous page's `nextCursor`; `limit` and `maxBytes` as for events. */
  readMessages(sessionId: string, query: { limit: number; cursor?: string; maxBytes?: number }): Promise<Page<Message>>;
  /** The last `limit` messages, oldest first: a run's window of the transcript. */
  readRecentMessages(sessionId: string, limit: number): Promise<Message[]>;

  /** Sessions stored `running` whose lease has expired (or that have none). */
  expiredRuns(): Promise<string[]>;
  /** Every session stored `running`, whoever holds its lease. Only for a store no other process uses. */
  runningSessions(): Promise<string[]>;
  /** Idle sessions whose last run was interrupted, oldest first. */
  interruptedSessions(): Promise<string[]>;
  /** Sessions not running with messages queued: free, so their queue should be moving. */
  queuedSessions(): Promise<string[]>;
  /** Extends `owner`'s leases on these sessions by `ttlMs`; returns the ids it still holds. */
  renewLeases(owner: string, sessionIds: readonly string[], ttlMs: number): Promise<string[]>;

  /** The tenant's stored sessions and bytes. */
  tenantUsage(tenant: string): Promise<TenantUsage>;
  /** Deletes up to `limit` sessions not running and not changed since `before`, with their logs; returns their ids. */
  deleteSessionsIdleSince(before: string, limit: number): Promise<string[]>;

  /** Resolves when the store answers (and, with `write`, can write); for readiness checks. */
  ping(options?: { write?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** Everything a server keeps: sessions and their logs, idempotency records, API keys. Both adapters are one. */
export type ServerStore = Store & IdempotencyStore & KeyStore;
