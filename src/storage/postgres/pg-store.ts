/**
 * The shared store: one PostgreSQL database for many Bamboo instances. Every
 * write is a single statement (one round trip, atomic on its own), and a
 * commit is compare-and-set on the session's version, so across all
 * instances exactly one writer of a version wins. Every statement is bounded
 * (see connection.ts); connection failures and statements past their limit
 * become `StorageUnavailable`; a taken Idempotency-Key becomes `IdempotencyKeyTaken`.
 */
import pg from 'pg';
import type { SessionEvent } from '../../domain/events.js';
import type { Message, SessionState } from '../../domain/types.js';
import { SESSION_STATES } from '../../domain/types.js';
import type {
  ApiKeyRecord,
  Commit,
  DeliveryQuery,
  DeliveryRecord,
  IdempotencyRecord,
  IdempotencyStore,
  KeyStore,
  ListQuery,
  Page,
  RequestCounter,
  RetryOutcome,
  SessionRow,
  Store,
  StreamCounter,
  TenantUsage,
  WebhookOutbox,
} from '../store.js';
import { takePage } from '../pages.js';
import { createdSize, sizeOf } from '../sizes.js';
import { IdempotencyKeyTaken, TooManyRuns, VersionConflict } from '../store.js';
import { clientConfig, createPool, redactUrl, runLong, STATEMENT_TIMEOUT_MS, unavailability } from './connection.js';
import { PgCounters } from './counters.js';
import { migrate } from './migrations.js';
import { deliveriesJson, PgOutbox } from './outbox.js';
import { type IdempotencyRecordRow, profileText, recordsJson, type SessionRecord, toIdempotencyRecord, toRow } from './records.js';
import { type AnyStatement, statementText } from './statements.js';

export interface PgStoreOptions {
  /** Connections at most. Default 10. */
  max?: number;
  /** Told of errors on idle connections (the pool replaces them). */
  onIdleError?: (error: Error) => void;
  /** The limit on one statement. Default `STATEMENT_TIMEOUT_MS`; tests shorten it. */
  statementTimeoutMs?: number;
  /**
   * This instance, named in the notice of each commit, so that its own feed
   * can skip what it has already delivered. Default none: every instance reads it.
   */
  instanceId?: string;
}

/** A cursor is a number this store handed out; anything else pages nothing, as in SQLite. */
const CURSOR = /^\d{1,18}$/;

/** A text column cannot hold NUL, so no stored session has such an id: asking for one is asking for nothing. */
function impossible(id: string): boolean {
  return id.includes('\u0000');
}

/** No byte budget: larger than any page. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

export class PgStore implements Store, IdempotencyStore, KeyStore, WebhookOutbox, RequestCounter, StreamCounter {
  readonly kind = 'postgres';
  readonly shared = true;
  /** The URL without its password. */
  readonly location: string;
  private closed = false;
  private readonly outbox = new PgOutbox((name, values) => this.run(name, values));
  private readonly counters = new PgCounters((name, values) => this.run(name, values));

  /** Prefer `PgStore.open`, which also migrates. `pool` is the store's from now on: `close` ends it. */
  constructor(
    readonly pool: pg.Pool,
    private readonly url: string,
    private readonly instanceId = '',
    private readonly statementTimeoutMs = STATEMENT_TIMEOUT_MS,
  ) {
    this.location = redactUrl(url);
  }

  /** Connects, creates or migrates the tables (safely from several instances at once), and returns the store. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const store = new PgStore(createPool(url, options), url, options.instanceId, options.statementTimeoutMs);
    try {
      // A connection of its own, outside the pool: a migration, or the wait for another instance's, has no time limit.
      const client = new pg.Client(clientConfig(url, store.statementTimeoutMs));
      client.on('error', () => undefined);
      await client.connect();
      try {
        await migrate(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (error) {
      await store.close();
      throw unavailability(error) ?? error;
    }
    return store;
  }

  /** A new connection of its own to the same database, for LISTEN. */
  listener(): pg.Client {
    return new pg.Client(clientConfig(this.url, this.statementTimeoutMs));
  }

  async createSession(row: SessionRow, events: SessionEvent[], idempotency?: IdempotencyRecord): Promise<void> {
    const { info } = row;
    const records = idempotency ? [idempotency] : [];
    const data = events.map((event) => JSON.stringify(event));
    await this.run('createSession', [
      info.id, info.tenant, profileText(info),
      row.state, row.snapshot, row.version, row.last_event_seq, row.message_count, info.created_at, row.updated_at,
      row.lease_owner, row.lease_epoch,
      events.map((event) => event.seq), data, recordsJson(records),
      createdSize(row, data),
    ]).catch((error: unknown) => this.keyTaken(error, records));
  }

  async loadSession(id: string): Promise<SessionRow | null> {
    if (impossible(id)) return null;
    const { rows } = await this.run<SessionRecord>('loadSession', [id]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async sessionVersion(id: string): Promise<number | null> {
    if (impossible(id)) return null;
    const { rows } = await this.run<{ version: number }>('sessionVersion', [id]);
    return rows[0]?.version ?? null;
  }

  async commit(commit: Commit): Promise<void> {
    const { sessionId, expectedVersion, snapshot, lease, events, messages, runLimit } = commit;
    const records = commit.idempotency ?? [];
    const take = lease && !('release' in lease) ? lease : null;
    if (impossible(sessionId)) throw new VersionConflict(sessionId, expectedVersion);
    const eventData = events.map((event) => JSON.stringify(event));
    const messageData = messages.map((message) => JSON.stringify(message));
    const info = commit.agent === undefined ? null : await this.infoWithAgent(sessionId, commit.agent);
    const { rows } = await this.run<{ updated: number }>('commit', [
      sessionId, expectedVersion, commit.updatedAt,
      snapshot !== undefined, snapshot?.state ?? null, snapshot?.data ?? null, snapshot?.lastRunStatus ?? null, snapshot?.queued ?? 0,
      events.at(-1)?.seq ?? null, events.map((event) => event.seq), eventData,
      messageData, messages.map((message) => message.id), commit.removeMessages ?? [], sizeOf(eventData, messageData),
      lease ? (take ? 'take' : 'release') : null, take?.owner ?? null, take?.epoch ?? null, take?.ttlMs ?? null,
      runLimit?.max ?? 0, commit.onlyIfLeaseExpired === true,
      recordsJson(records), deliveriesJson(commit.outbox ?? []), this.instanceId, info,
    ]).catch((error: unknown) => {
      if ((error as { code?: string; message?: string }).code === 'P0001' && (error as { message?: string }).message === 'too_many_runs') {
        throw new TooManyRuns(runLimit?.tenant ?? '', runLimit?.max ?? 0);
      }
      return this.keyTaken(error, records);
    });
    if (rows[0]?.updated !== 1) throw new VersionConflict(sessionId, expectedVersion);
  }

  /**
   * The session's description with another agent, to replace it in a commit
   * (rare: a session's first message can bind it). Read apart from the commit:
   * the description changes only in a commit, so the commit's version check
   * also vouches for what was read. JSON's functions in the database would
   * refuse a NUL escape that the text may hold.
   */
  private async infoWithAgent(sessionId: string, agent: string): Promise<string | null> {
    const row = await this.loadSession(sessionId);
    return row ? profileText({ ...row.info, agent }) : null;
  }

  /** With the limit of upkeep: a long-lived session's log can hold millions of rows, more than one statement's 5 s deletes. */
  async deleteSession(id: string): Promise<boolean> {
    if (impossible(id)) return false;
    const { rows } = await this.upkeep<{ removed: number }>('deleteSession', [id]);
    if (rows[0]?.removed !== 1) return false;
    await this.upkeep('deleteLog', [id]);
    return true;
  }

  async listSessions({ tenant, limit, cursor, state }: ListQuery): Promise<Page<SessionRow>> {
    if (cursor !== undefined && !CURSOR.test(cursor)) return { items: [], nextCursor: null };
    const before = cursor ?? '9223372036854775807';
    const { rows } = state
      ? await this.run<SessionRecord & { ordinal: string }>('listByState', [tenant, state, before, limit + 1])
      : await this.run<SessionRecord & { ordinal: string }>('listAll', [tenant, before, limit + 1]);
    const page = rows.slice(0, limit);
    return { items: page.map(toRow), nextCursor: rows.length > limit ? page.at(-1)!.ordinal : null };
  }

  async countByState(): Promise<Record<SessionState, number>> {
    const counts = Object.fromEntries(SESSION_STATES.map((s) => [s, 0])) as Record<SessionState, number>;
    const { rows } = await this.upkeep<{ state: SessionState; n: number }>('countByState', []);
    for (const { state, n } of rows) counts[state] = n;
    return counts;
  }

  async readEvents(sessionId: string, after: number, limit: number, maxBytes = UNBOUNDED): Promise<SessionEvent[]> {
    if (impossible(sessionId)) return [];
    const { rows } = await this.run<{ data: string; before: string }>('readEvents', [sessionId, after, limit, maxBytes]);
    return takePage(rows, asSqliteCounts, limit, maxBytes).page.map((row) => JSON.parse(row.data) as SessionEvent);
  }

  async readMessages(sessionId: string, { limit, cursor, maxBytes = UNBOUNDED }: { limit: number; cursor?: string; maxBytes?: number }): Promise<Page<Message>> {
    if (impossible(sessionId) || (cursor !== undefined && !CURSOR.test(cursor))) return { items: [], nextCursor: null };
    // One more than the page, to know whether another follows.
    const { rows } = await this.run<{ position: number; data: string; before: string }>('readMessages', [sessionId, Number(cursor ?? 0), limit + 1, maxBytes]);
    const { page } = takePage(rows, asSqliteCounts, limit, maxBytes);
    return { items: page.map((row) => JSON.parse(row.data) as Message), nextCursor: rows.length > page.length ? String(page.at(-1)!.position) : null };
  }

  async readRecentMessages(sessionId: string, limit: number, maxBytes?: number): Promise<Message[]> {
    if (impossible(sessionId)) return [];
    const { rows } =
      maxBytes === undefined
        ? await this.run<{ data: string }>('readRecentMessages', [sessionId, limit])
        : await this.run<{ data: string }>('readRecentMessagesWithin', [sessionId, limit, maxBytes]);
    // Cut again as JavaScript counts UTF-8: a database in another encoding counts its own bytes.
    const page = maxBytes === undefined ? rows : takePage(rows, (row) => Buffer.byteLength(row.data), limit, maxBytes).page;
    return page.reverse().map((row) => JSON.parse(row.data) as Message);
  }

  async expiredRuns(): Promise<string[]> {
    return this.ids('expiredRuns', []);
  }

  async runningSessions(): Promise<string[]> {
    return this.ids('runningSessions', []);
  }

  async interruptedSessions(): Promise<string[]> {
    return this.ids('interruptedSessions', []);
  }

  async queuedSessions(): Promise<string[]> {
    return this.ids('queuedSessions', []);
  }

  async tenantUsage(tenant: string): Promise<TenantUsage> {
    const { rows } = await this.run<TenantUsage>('tenantUsage', [tenant]);
    return rows[0] ?? { sessions: 0, bytes: 0 };
  }

  async deleteSessionsIdleSince(before: string, limit: number): Promise<string[]> {
    const { rows } = await this.upkeep<{ id: string }>('deleteIdleSince', [before, limit]);
    return rows.map((row) => row.id);
  }

  async renewLeases(owner: string, sessionIds: readonly string[], ttlMs: number): Promise<string[]> {
    if (sessionIds.length === 0) return [];
    return this.ids('renewLeases', [[...sessionIds], owner, ttlMs]);
  }

  /** Sessions written at or after `since` (an ISO time), and their last `seq`. */
  async changedSince(since: string): Promise<{ id: string; lastSeq: number }[]> {
    const { rows } = await this.upkeep<{ id: string; last_event_seq: number }>('changedSince', [since]);
    return rows.map((row) => ({ id: row.id, lastSeq: row.last_event_seq }));
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.run('notify', [channel, payload]);
  }

  async keepIdempotency({ tenant, key, method, path, bodyHash, status, body, createdAt }: IdempotencyRecord): Promise<boolean> {
    return ((await this.run('keepIdempotency', [tenant, key, method, path, bodyHash, status, body, createdAt])).rowCount ?? 0) === 1;
  }

  async getIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | null> {
    const { rows } = await this.run<IdempotencyRecordRow>('getIdempotency', [tenant, key]);
    return rows[0] ? toIdempotencyRecord(rows[0]) : null;
  }

  async purgeIdempotency(before: string): Promise<number> {
    return (await this.upkeep('purgeIdempotency', [before])).rowCount ?? 0;
  }

  async createApiKey(record: Omit<ApiKeyRecord, 'revoked_at'>): Promise<void> {
    await this.run('insertApiKey', [record.id, record.tenant, record.name, record.hash, record.created_at]);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.run<ApiKeyRecord>('listApiKeys', [])).rows;
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    return ((await this.run('revokeApiKey', [id, at])).rowCount ?? 0) === 1;
  }

  async findApiKey(hash: string): Promise<ApiKeyRecord | null> {
    return (await this.run<ApiKeyRecord>('findApiKey', [hash])).rows[0] ?? null;
  }

  async countActiveApiKeys(): Promise<number> {
    return (await this.run<{ n: number }>('countActiveApiKeys', [])).rows[0]?.n ?? 0;
  }

  /** Asks `owner` to carry out `command` (any size: it is kept in a row, the owner told its id). */
  async requestCommand(owner: string, sessionId: string, command: string): Promise<void> {
    await this.run('requestCommand', [owner, sessionId, command]);
  }

  /** Takes the command `id` if it is `owner`'s; null when it is gone or another's. */
  async takeCommand(id: string, owner: string): Promise<{ sessionId: string; command: string } | null> {
    const { rows } = await this.run<{ session_id: string; command: string }>('takeCommand', [id, owner]);
    return rows[0] ? { sessionId: rows[0].session_id, command: rows[0].command } : null;
  }

  /** Takes every command for `owner`, returning those asked within the last `withinMs`, oldest first. */
  async takePendingCommands(owner: string, withinMs: number): Promise<{ sessionId: string; command: string }[]> {
    const { rows } = await this.run<{ session_id: string; command: string }>('takePendingCommands', [owner, withinMs]);
    return rows.map((row) => ({ sessionId: row.session_id, command: row.command }));
  }

  countRequest(key: string, windowMs: number): Promise<{ hits: number; resetAt: number }> {
    return this.counters.countRequest(key, windowMs);
  }

  uncountRequest(key: string): Promise<void> {
    return this.counters.uncountRequest(key);
  }

  resetRequests(key: string): Promise<void> {
    return this.counters.resetRequests(key);
  }

  openStream(tenant: string, instance: string, limit: number, ttlMs: number): Promise<boolean> {
    return this.counters.openStream(tenant, instance, limit, ttlMs);
  }

  closeStream(tenant: string, instance: string): Promise<void> {
    return this.counters.closeStream(tenant, instance);
  }

  renewStreams(instance: string, counts: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    return this.counters.renewStreams(instance, counts, ttlMs);
  }

  claimDeliveries(claim: { owner: string; now: string; limit: number; claimMs: number }): Promise<DeliveryRecord[]> {
    return this.outbox.claim(claim);
  }

  markDelivered(id: string, owner: string, at: string): Promise<boolean> {
    return this.outbox.markDelivered(id, owner, at);
  }

  scheduleRetry(id: string, owner: string, nextAttemptAt: string, error: string): Promise<boolean> {
    return this.outbox.scheduleRetry(id, owner, nextAttemptAt, error);
  }

  markFailed(id: string, owner: string, at: string, error: string): Promise<boolean> {
    return this.outbox.markFailed(id, owner, at, error);
  }

  listDeliveries(query: DeliveryQuery): Promise<Page<DeliveryRecord>> {
    return this.outbox.list(query);
  }

  findDelivery(tenant: string, id: string): Promise<DeliveryRecord | null> {
    return this.outbox.find(tenant, id);
  }

  retryDelivery(tenant: string, id: string, now: string): Promise<RetryOutcome | null> {
    return this.outbox.retry(tenant, id, now);
  }

  countPendingDeliveries(): Promise<number> {
    return this.outbox.countPending();
  }

  purgeDeliveries(before: string, limit: number): Promise<number> {
    return this.outbox.purge(before, limit);
  }

  async ping({ write = false }: { write?: boolean } = {}): Promise<void> {
    await this.run(write ? 'pingWrite' : 'ping', []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** One statement, one round trip; prepared once per connection by name. */
  private async run<R extends pg.QueryResultRow = pg.QueryResultRow>(name: AnyStatement, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>({ name: `bamboo_${name}`, text: statementText(name), values });
    } catch (error) {
      throw unavailability(error) ?? error;
    }
  }

  /** A statement of upkeep, off the request path: the longer limit (see `runLong`). */
  private upkeep<R extends pg.QueryResultRow = pg.QueryResultRow>(name: AnyStatement, values: unknown[]): Promise<pg.QueryResult<R>> {
    return runLong<R>(this.pool, { name: `bamboo_${name}`, text: statementText(name), values }, this.statementTimeoutMs);
  }

  private async ids(name: AnyStatement, values: unknown[]): Promise<string[]> {
    const { rows } = await this.run<{ id: string }>(name, values);
    return rows.map((row) => row.id);
  }

  /**
   * A duplicate key on the idempotency records rolled the whole statement
   * back: name the key that was taken (the only one, or the first one stored).
   */
  private async keyTaken(error: unknown, records: readonly IdempotencyRecord[]): Promise<never> {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code !== '23505' || constraint !== 'idempotency_records_pkey' || records.length === 0) throw error;
    let taken = records[0];
    if (records.length > 1) {
      const { rows } = await this.run<{ tenant: string; key: string }>('existingKeys', [records.map((r) => r.tenant), records.map((r) => r.key)]);
      taken = records.find((r) => rows.some((row) => row.tenant === r.tenant && row.key === r.key)) ?? taken;
    }
    throw new IdempotencyKeyTaken(taken.tenant, taken.key);
  }
}

/**
 * A row's size against a page's budget, as SQLite counts it (UTF-16 units):
 * PostgreSQL's `length()` counts characters, so its running total only
 * narrows what is sent, and the page is cut here.
 */
function asSqliteCounts(row: { data: string }): number {
  return row.data.length;
}
