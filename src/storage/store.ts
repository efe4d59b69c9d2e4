/**
 * The storage port. Every adapter (SQLite, PostgreSQL) passes the contract
 * suite in test/contract. Writes are compare-and-set on the session's
 * `version`, and a commit's events, messages, lease, idempotency record and
 * webhook deliveries land in the same transaction as its state change.
 */
import type { SessionEvent } from '../domain/events.js';
import type { Message, RunStatus, SessionInfo, SessionState } from '../domain/types.js';
import type { DeliveryStatus, WebhookEventType } from '../domain/webhooks.js';

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
  /** Only with `snapshot`: a run's lease is taken or given back as the state enters or leaves `running`. */
  lease?: LeaseChange;
  /** Set on a run start: the commit fails with `TooManyRuns` if the tenant already has `max` sessions running. */
  runLimit?: { tenant: string; max: number };
  /** Commit only if the session's lease has expired: recovery's fence against an owner that is still alive. */
  onlyIfLeaseExpired?: boolean;
  /** The responses that acknowledge this change, kept for `Idempotency-Key` replays. */
  idempotency?: IdempotencyRecord[];
  /** Webhook deliveries the change owes (a run ended): stored `pending`, due at once, in this transaction. */
  outbox?: WebhookDelivery[];
  /** The session's agent from now on: set only with the first message of a session that has never had one (a LangGraph thread takes its first run's assistant). */
  agent?: string;
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
 * written, unless `maybeWritten`; the request may be retried once it recovers.
 * Adapters translate their own errors into this.
 */
export class StorageUnavailable extends Error {
  /**
   * The connection was lost, or the answer did not come, after a statement was
   * sent: the database may have committed it. The caller cannot know; a client
   * reads back, or retries with the same Idempotency-Key.
   */
  readonly maybeWritten: boolean;

  constructor(
    /**
     * `busy`: the database itself answers, but not in time: every connection was
     * in use for too long, or a statement passed its limit (a lock held elsewhere).
     */
    readonly reason: 'unreachable' | 'full' | 'damaged' | 'busy',
    message: string,
    options?: { cause?: unknown; maybeWritten?: boolean },
  ) {
    super(message, options);
    this.name = 'StorageUnavailable';
    this.maybeWritten = options?.maybeWritten ?? false;
  }
}

/** The database was brought to a later schema by a newer server: this one must not write to it. */
export class SchemaTooNew extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`The database is at schema version ${found}, newer than this server knows (${known}): run a server of that version or later`);
    this.name = 'SchemaTooNew';
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

/**
 * Requests counted per key in fixed windows, shared by every instance on the
 * store, so a per-tenant rate limit holds across them. A store of one
 * process (SQLite) leaves it out: counting in memory is exact there.
 */
export interface RequestCounter {
  /** Counts one request; the count so far in the current window, and when that window ends (ms since the epoch). */
  countRequest(key: string, windowMs: number): Promise<{ hits: number; resetAt: number }>;
  /** Takes one request back (one that should not count). */
  uncountRequest(key: string): Promise<void>;
  /** Forgets the key's count. */
  resetRequests(key: string): Promise<void>;
}

/**
 * Event streams open per tenant, counted by every instance on the store
 * together, so a per-tenant stream limit holds across them. Each instance
 * keeps its own count live by renewing it; the streams of an instance that
 * died stop counting when its count expires. A store of one process (SQLite)
 * leaves it out: counting in memory is exact there.
 */
export interface StreamCounter {
  /**
   * Counts one more stream of `tenant` on `instance`, unless the tenant's
   * streams on every live instance already reach `limit`: then false, and
   * nothing is counted. The instance's count lives `ttlMs` from now.
   */
  openStream(tenant: string, instance: string, limit: number, ttlMs: number): Promise<boolean>;
  /** Counts one stream of `tenant` on `instance` less. */
  closeStream(tenant: string, instance: string): Promise<void>;
  /** Sets the instance's counts to `counts` (tenants absent have none) and keeps them live `ttlMs` from now. */
  renewStreams(instance: string, counts: ReadonlyMap<string, number>, ttlMs: number): Promise<void>;
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
  /**
   * Keeps `record` for a change that another instance made and committed (a
   * message queued by the run's owner), so it can only follow that change;
   * false when the key is already taken. Every other record goes with its commit.
   */
  keepIdempotency(record: IdempotencyRecord): Promise<boolean>;
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
  /**
   * The last `limit` messages, oldest first: a run's window of the transcript.
   * With `maxBytes`, only the latest that fit it, their stored JSON counted
   * in UTF-8 bytes (the newest always): read from the newest back, so a long
   * transcript is never read whole.
   */
  readRecentMessages(sessionId: string, limit: number, maxBytes?: number): Promise<Message[]>;

  /** Sessions stored `running` whose lease has expired (or that have none). */
  expiredRuns(): Promise<string[]>;
  /** Every session stored `running`, whoever holds its lease. Only for a store no other process uses. */
  runningSessions(): Promise<string[]>;
  /** Idle sessions whose last run was interrupted, oldest first. */
  interruptedSessions(): Promise<string[]>;
  /** Free sessions (idle or completed) with messages queued: their queue should be moving. */
  queuedSessions(): Promise<string[]>;
  /** Extends `owner`'s leases on these sessions by `ttlMs`; returns the ids it still holds. */
  renewLeases(owner: string, sessionIds: readonly string[], ttlMs: number): Promise<string[]>;

  /** The tenant's stored sessions and bytes. */
  tenantUsage(tenant: string): Promise<TenantUsage>;
  /**
   * Keeps (or drops) what finds idle sessions fast: retention needs it, and
   * every commit pays to maintain it, so it exists only while retention is on.
   * A store that scans without cost leaves this out.
   */
  indexForRetention?(enabled: boolean): Promise<void>;
  /**
   * Deletes up to `limit` sessions not running and not changed since `before`,
   * with their logs; returns their ids. It may stop sooner, once it has
   * deleted some megabytes, so that one call stays short: call again until
   * none is returned.
   */
  deleteSessionsIdleSince(before: string, limit: number): Promise<string[]>;

  /** Resolves when the store answers (and, with `write`, can write); for readiness checks. */
  ping(options?: { write?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** What one run ending owes one configured receiver; written by `Commit.outbox`. */
export interface WebhookDelivery {
  /** `dlv_…`, unique. Also the `webhook-id` of every attempt, so a receiver can drop repeats. */
  id: string;
  /** The tenant of the session: the only one that may list or retry the delivery. */
  tenant: string;
  sessionId: string;
  runId: string;
  type: WebhookEventType;
  /** A receiver from the operator's configuration, never from a client. */
  url: string;
  /** The JSON body, rendered once: every attempt sends these bytes. */
  payload: string;
  createdAt: string;
}

/** A delivery as stored, with where it stands. Times are ISO 8601 UTC with milliseconds (`toISOString`). */
export interface DeliveryRecord extends WebhookDelivery {
  status: DeliveryStatus;
  /** Claims taken since the delivery was created, or last retried through the API: attempts started. */
  attempts: number;
  /** A `pending` delivery is due from then on. */
  nextAttemptAt: string;
  /** Why the last attempt failed; null before any failed. */
  lastError: string | null;
  /** When it became `delivered` or `failed`; null while `pending`. */
  finishedAt: string | null;
  /** When a client last asked for it again (`retryDelivery`); null if never. */
  retriedAt: string | null;
}

export interface DeliveryQuery {
  tenant: string;
  status?: DeliveryStatus;
  limit: number;
  cursor?: string;
}

export type RetryOutcome = { outcome: 'retried' | 'not_failed'; delivery: DeliveryRecord };

/**
 * The webhook outbox, for the dispatcher that sends what `Commit.outbox`
 * wrote. Several instances may dispatch from one store at once, so a delivery
 * is sent only under a claim: an owner and an expiry, taken atomically.
 *
 * - A delivery is *claimable* at `now` when it is `pending`, its
 *   `nextAttemptAt <= now`, and it has no claim or its claim expires at or
 *   before `now`. Claiming sets the owner, the expiry (`now + claimMs`) and
 *   adds one to `attempts`, in one conditional update (PostgreSQL: `UPDATE …
 *   WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`): two owners claiming at
 *   once never get the same delivery while its claim lasts.
 * - Only the current claim's owner may settle a delivery (`markDelivered`,
 *   `scheduleRetry`, `markFailed`); each clears the claim and answers false,
 *   changing nothing, when `owner` does not hold it (it lapsed and was taken).
 * - `now` and every time are given by the caller, so the dispatcher's clock
 *   rules (and tests can move it); ISO strings of `toISOString` compare as times.
 */
export interface WebhookOutbox {
  /** Claims up to `limit` claimable deliveries, those due first (then oldest first); returns them as claimed. */
  claimDeliveries(claim: { owner: string; now: string; limit: number; claimMs: number }): Promise<DeliveryRecord[]>;
  /** The receiver took it: `delivered` at `at`. */
  markDelivered(id: string, owner: string, at: string): Promise<boolean>;
  /** The attempt failed: still `pending`, due again at `nextAttemptAt`, with `error` kept as `lastError`. */
  scheduleRetry(id: string, owner: string, nextAttemptAt: string, error: string): Promise<boolean>;
  /** Given up: `failed` at `at`, with `error` kept as `lastError`. */
  markFailed(id: string, owner: string, at: string, error: string): Promise<boolean>;
  /** The tenant's deliveries, newest first, optionally of one status; `cursor` is a previous page's `nextCursor`. */
  listDeliveries(query: DeliveryQuery): Promise<Page<DeliveryRecord>>;
  /** One delivery of the tenant; null when the tenant has none with that id. */
  findDelivery(tenant: string, id: string): Promise<DeliveryRecord | null>;
  /**
   * A `failed` delivery of the tenant becomes `pending` again, due at `now`,
   * with `attempts` 0, `retriedAt` and no `finishedAt`; any other status is
   * left as it is (`not_failed`). Null when the tenant has no such delivery.
   */
  retryDelivery(tenant: string, id: string, now: string): Promise<RetryOutcome | null>;
  /** Deliveries `pending`, claimed or not, of every tenant: the queue's depth. */
  countPendingDeliveries(): Promise<number>;
  /** Deletes up to `limit` deliveries `delivered` or `failed` before `before`; returns how many. */
  purgeDeliveries(before: string, limit: number): Promise<number>;
}

/** Everything a server keeps: sessions and their logs, idempotency records, API keys, the webhook outbox. Both adapters are one. */
export type ServerStore = Store & IdempotencyStore & KeyStore & WebhookOutbox & Partial<RequestCounter> & Partial<StreamCounter>;
