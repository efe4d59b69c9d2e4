/**
 * The embedded store: one SQLite file in WAL mode, held by one process.
 * better-sqlite3 is synchronous, so each method runs its transaction to
 * completion before it returns; the Promise-shaped port is what lets
 * PostgreSQL share the contract.
 */
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
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
  RetryOutcome,
  SessionRow,
  Store,
  TenantUsage,
  WebhookOutbox,
} from '../store.js';
import { checkIntegrity, translate } from './errors.js';
import { type EventRow, eventTexts } from './event-rows.js';
import { makeFolder } from './folder.js';
import { GroupCommit } from './group-commit.js';
import { migrate } from './migrations.js';
import { SqliteOutbox } from './outbox.js';
import { takePage } from '../pages.js';
import { type IdempotencyRecordRow, type SessionRecord, toIdempotencyRecord, toRow } from './records.js';
import { lockDatabase, unlockDatabase } from './single-instance.js';
import { prepareStatements } from './statements.js';
import { type SessionWrites, sessionWrites } from './writes.js';

/** Bytes of sessions one retention call deletes at most (past its first session). */
const RETENTION_BATCH_BYTES = 16 * 1024 * 1024;

export interface SqliteStoreOptions {
  /** Run `PRAGMA quick_check` at open and refuse a damaged file. Default true. */
  checkIntegrity?: boolean;
}

export class SqliteStore implements Store, IdempotencyStore, KeyStore, WebhookOutbox {
  readonly kind = 'sqlite';
  readonly shared = false;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly sql;
  private readonly outbox: SqliteOutbox;
  /** The bodies of a commit and of a session's creation, run inside a group transaction. */
  private readonly bodies: SessionWrites;
  private readonly writes: GroupCommit;
  private readonly deleteTx;

  /** `path` is a file (its folder is created) or `:memory:`. Throws `DatabaseInUse` when another process holds the file, `DatabaseDamaged` when it is corrupt. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.location = path === ':memory:' ? path : resolve(path);
    if (path !== ':memory:') makeFolder(dirname(path));
    // No waiting for a lock: a held file means another process, which `lockDatabase` reports.
    this.db = new Database(path, { timeout: 0 });
    let locked = false;
    try {
      if (path !== ':memory:') {
        lockDatabase(this.db, this.location);
        locked = true;
      }
      this.db.pragma('journal_mode = WAL');
      // With WAL, NORMAL loses no committed transaction on a process crash; only an OS crash can drop the last ones.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      if (path !== ':memory:' && options.checkIntegrity !== false) checkIntegrity(this.db, this.location);
      migrate(this.db);
    } catch (error) {
      this.db.close();
      // The holder's record stays when the lock is another's.
      if (locked) unlockDatabase(this.location);
      throw error;
    }
    this.sql = prepareStatements(this.db);
    this.outbox = new SqliteOutbox(this.db);

    this.bodies = sessionWrites(this.sql, this.outbox);
    this.writes = new GroupCommit(this.db, translate);

    this.deleteTx = this.db.transaction((id: string) => {
      const removed = this.sql.deleteSession.run(id).changes === 1;
      this.sql.deleteEvents.run(id);
      this.sql.deleteMessages.run(id);
      return removed;
    });
  }

  createSession(row: SessionRow, events: SessionEvent[], idempotency?: IdempotencyRecord): Promise<void> {
    return this.writes.write(() => this.bodies.writeSession(row, events, idempotency));
  }

  loadSession(id: string): Promise<SessionRow | null> {
    return this.run(() => {
      const record = this.sql.loadSession.get(id) as SessionRecord | undefined;
      return record ? toRow(record) : null;
    });
  }

  sessionVersion(id: string): Promise<number | null> {
    return this.run(() => (this.sql.sessionVersion.get(id) as number | undefined) ?? null);
  }

  commit(commit: Commit): Promise<void> {
    return this.writes.write(() => this.bodies.writeCommit(commit));
  }

  deleteSession(id: string): Promise<boolean> {
    return this.run(() => this.deleteTx(id));
  }

  listSessions({ tenant, limit, cursor, state }: ListQuery): Promise<Page<SessionRow>> {
    return this.run(() => {
      const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
      const records = (
        state ? this.sql.listByState.all(tenant, state, before, limit + 1) : this.sql.listAll.all(tenant, before, limit + 1)
      ) as SessionRecord[];
      const page = records.slice(0, limit);
      return { items: page.map(toRow), nextCursor: records.length > limit ? String(page.at(-1)!.ordinal) : null };
    });
  }

  countByState(): Promise<Record<SessionState, number>> {
    return this.run(() => {
      const counts = Object.fromEntries(SESSION_STATES.map((s) => [s, 0])) as Record<SessionState, number>;
      for (const { state, n } of this.sql.countByState.all() as { state: SessionState; n: number }[]) counts[state] = n;
      return counts;
    });
  }

  readEvents(sessionId: string, after: number, limit: number, maxBytes?: number): Promise<SessionEvent[]> {
    return this.run(() => {
      // Each row holds one event or more: `limit` rows hold at least `limit` events after `after`.
      const rows = this.sql.readEvents.iterate(sessionId, after, limit) as Iterable<EventRow>;
      return takePage(eventTexts(rows, after), (data) => data.length, limit, maxBytes).page.map((data) => JSON.parse(data) as SessionEvent);
    });
  }

  readMessages(sessionId: string, { limit, cursor, maxBytes }: { limit: number; cursor?: string; maxBytes?: number }): Promise<Page<Message>> {
    return this.run(() => {
      const after = cursor === undefined ? 0 : Number(cursor);
      // One more than the page, to know whether another follows.
      const rows = this.sql.readMessages.iterate(sessionId, after, limit + 1) as Iterable<{ position: number; data: string }>;
      const { page, more } = takePage(rows, (row) => row.data.length, limit, maxBytes);
      return { items: page.map((row) => JSON.parse(row.data) as Message), nextCursor: more ? String(page.at(-1)!.position) : null };
    });
  }

  readRecentMessages(sessionId: string, limit: number, maxBytes?: number): Promise<Message[]> {
    return this.run(() => {
      // Newest first; with a budget one row at a time, so the rows past it are never read (a run's window reads them all at once).
      const rows =
        maxBytes === undefined
          ? (this.sql.readRecentMessages.all(sessionId, limit) as string[])
          : takePage(this.sql.readRecentMessages.iterate(sessionId, limit) as Iterable<string>, (data) => Buffer.byteLength(data), limit, maxBytes).page;
      return rows.reverse().map((data) => JSON.parse(data) as Message);
    });
  }

  expiredRuns(): Promise<string[]> {
    return this.run(() => this.sql.expiredRuns.all(Date.now()) as string[]);
  }

  runningSessions(): Promise<string[]> {
    return this.run(() => this.sql.runningIds.all() as string[]);
  }

  interruptedSessions(): Promise<string[]> {
    return this.run(() => this.sql.interrupted.all() as string[]);
  }

  queuedSessions(): Promise<string[]> {
    return this.run(() => this.sql.queued.all() as string[]);
  }

  renewLeases(owner: string, sessionIds: readonly string[], ttlMs: number): Promise<string[]> {
    if (sessionIds.length === 0) return Promise.resolve([]);
    const until = Date.now() + ttlMs;
    return this.run(() => this.db.transaction(() => sessionIds.filter((id) => this.sql.renewLease.run(until, id, owner).changes === 1))());
  }

  tenantUsage(tenant: string): Promise<TenantUsage> {
    return this.run(() => this.sql.tenantUsage.get(tenant) as TenantUsage);
  }

  indexForRetention(enabled: boolean): Promise<void> {
    return this.run(() => {
      this.db.exec(
        enabled
          ? `CREATE INDEX IF NOT EXISTS sessions_idle_by_age ON sessions (updated_at) WHERE state <> 'running'`
          : 'DROP INDEX IF EXISTS sessions_idle_by_age',
      );
    });
  }

  deleteSessionsIdleSince(before: string, limit: number): Promise<string[]> {
    return this.run(() =>
      this.db.transaction(() => {
        // The database is this process's: a transaction deleting gigabytes would hold every request up, so one stops after some megabytes.
        const ids: string[] = [];
        let bytes = 0;
        for (const row of this.sql.idleSince.all(before, limit) as { id: string; bytes: number }[]) {
          if (ids.length > 0 && bytes + row.bytes > RETENTION_BATCH_BYTES) break;
          this.deleteTx(row.id);
          ids.push(row.id);
          bytes += row.bytes;
        }
        return ids;
      })(),
    );
  }

  keepIdempotency(record: IdempotencyRecord): Promise<boolean> {
    return this.run(() => this.sql.putIdempotency.run(record).changes === 1);
  }

  getIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | null> {
    return this.run(() => {
      const row = this.sql.getIdempotency.get(tenant, key) as IdempotencyRecordRow | undefined;
      return row ? toIdempotencyRecord(row) : null;
    });
  }

  purgeIdempotency(before: string): Promise<number> {
    return this.run(() => this.sql.purgeIdempotency.run(before).changes);
  }

  createApiKey(record: Omit<ApiKeyRecord, 'revoked_at'>): Promise<void> {
    return this.run(() => void this.sql.insertApiKey.run(record));
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.run(() => this.sql.listApiKeys.all() as ApiKeyRecord[]);
  }

  revokeApiKey(id: string, at: string): Promise<boolean> {
    return this.run(() => this.sql.revokeApiKey.run(at, id).changes === 1);
  }

  findApiKey(hash: string): Promise<ApiKeyRecord | null> {
    return this.run(() => (this.sql.findApiKey.get(hash) as ApiKeyRecord | undefined) ?? null);
  }

  countActiveApiKeys(): Promise<number> {
    return this.run(() => this.sql.countActiveApiKeys.get() as number);
  }

  claimDeliveries(claim: { owner: string; now: string; limit: number; claimMs: number }): Promise<DeliveryRecord[]> {
    return this.run(() => this.outbox.claim(claim));
  }

  markDelivered(id: string, owner: string, at: string): Promise<boolean> {
    return this.run(() => this.outbox.markDelivered(id, owner, at));
  }

  scheduleRetry(id: string, owner: string, nextAttemptAt: string, error: string): Promise<boolean> {
    return this.run(() => this.outbox.scheduleRetry(id, owner, nextAttemptAt, error));
  }

  markFailed(id: string, owner: string, at: string, error: string): Promise<boolean> {
    return this.run(() => this.outbox.markFailed(id, owner, at, error));
  }

  listDeliveries(query: DeliveryQuery): Promise<Page<DeliveryRecord>> {
    return this.run(() => this.outbox.list(query));
  }

  findDelivery(tenant: string, id: string): Promise<DeliveryRecord | null> {
    return this.run(() => this.outbox.find(tenant, id));
  }

  retryDelivery(tenant: string, id: string, now: string): Promise<RetryOutcome | null> {
    return this.run(() => this.outbox.retry(tenant, id, now));
  }

  countPendingDeliveries(): Promise<number> {
    return this.run(() => this.outbox.countPending());
  }

  purgeDeliveries(before: string, limit: number): Promise<number> {
    return this.run(() => this.outbox.purge(before, limit));
  }

  /** With `write`, also commits a row and removes it: a full disk fails this where a read would not. */
  ping({ write = false }: { write?: boolean } = {}): Promise<void> {
    return this.run(() => {
      this.sql.ping.get();
      if (write) {
        this.db.transaction(() => {
          this.sql.probeWrite.run(new Date().toISOString());
          this.sql.clearProbes.run();
        })();
      }
    });
  }

  async close(): Promise<void> {
    this.writes.flush();
    if (!this.db.open) return;
    this.db.close();
    if (this.location !== ':memory:') unlockDatabase(this.location);
  }

  /** Runs a statement, storage failures restated as the port's. */
  private run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(translate(error));
    }
  }
}
