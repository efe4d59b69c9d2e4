/**
 * The embedded store: one SQLite file in WAL mode, held by one process.
 * better-sqlite3 is synchronous, so each method runs its transaction to
 * completion before it returns; the Promise-shaped port is what lets
 * PostgreSQL share the contract.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SessionEvent } from '../../domain/events.js';
import type { Message, SessionState } from '../../domain/types.js';
import { SESSION_STATES } from '../../domain/types.js';
import type { ApiKeyRecord, Commit, IdempotencyRecord, IdempotencyStore, KeyStore, ListQuery, Page, SessionRow, Store } from '../store.js';
import { IdempotencyKeyTaken, TooManyRuns, VersionConflict } from '../store.js';
import { migrate } from './migrations.js';
import { type IdempotencyRecordRow, type SessionRecord, toIdempotencyRecord, toRow } from './records.js';
import { lockDatabase, unlockDatabase } from './single-instance.js';
import { prepareStatements } from './statements.js';

export class SqliteStore implements Store, IdempotencyStore, KeyStore {
  readonly kind = 'sqlite';
  readonly shared = false;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly sql;
  private readonly commitTx;
  private readonly createTx;
  private readonly deleteTx;
  /** Commits waiting for the next group transaction. */
  private queued: { write: () => void; resolve: () => void; reject: (error: unknown) => void }[] = [];

  /** `path` is a file (its folder is created) or `:memory:`. Throws `DatabaseInUse` when another process holds the file. */
  constructor(path: string) {
    this.location = path === ':memory:' ? path : resolve(path);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    // No waiting for a lock: a held file means another process, which `lockDatabase` reports.
    this.db = new Database(path, { timeout: 0 });
    try {
      if (path !== ':memory:') lockDatabase(this.db, this.location);
      this.db.pragma('journal_mode = WAL');
      // With WAL, NORMAL loses no committed transaction on a process crash; only an OS crash can drop the last ones.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.sql = prepareStatements(this.db);

    this.createTx = this.db.transaction((row: SessionRow, events: SessionEvent[], idempotency?: IdempotencyRecord) => {
      this.sql.insertSession.run({
        ...row.info,
        metadata: JSON.stringify(row.info.metadata),
        state: row.state,
        snapshot: row.snapshot,
        version: row.version,
        last_event_seq: row.last_event_seq,
        message_count: row.message_count,
        updated_at: row.updated_at,
      });
      for (const event of events) this.sql.insertEvent.run(row.info.id, event.seq, JSON.stringify(event));
      if (idempotency) this.putIdempotency(idempotency);
    });

    this.commitTx = this.db.transaction((commit: Commit) => {
      const { sessionId, expectedVersion, updatedAt, events, messages, snapshot, lease } = commit;
      if (commit.onlyIfLeaseExpired && this.sql.leaseLive.get(sessionId, Date.now()) !== undefined) throw new VersionConflict(sessionId, expectedVersion);
      const { runLimit } = commit;
      if (runLimit && (this.sql.runningForTenant.get(runLimit.tenant) as number) >= runLimit.max) throw new TooManyRuns(runLimit.tenant, runLimit.max);
      const position = messages.length > 0 ? ((this.sql.messagePosition.get(sessionId) as number | undefined) ?? 0) : 0;
      const lastSeq = events.at(-1)?.seq ?? null;
      const update = snapshot
        ? this.sql.updateWithSnapshot.run(snapshot.state, snapshot.data, snapshot.lastRunStatus, lastSeq, messages.length, updatedAt, sessionId, expectedVersion)
        : this.sql.updateLog.run(lastSeq, messages.length, updatedAt, sessionId, expectedVersion);
      if (update.changes !== 1) throw new VersionConflict(sessionId, expectedVersion);
      if (lease && 'release' in lease) this.sql.releaseLease.run(sessionId);
      else if (lease) this.sql.takeLease.run(lease.owner, lease.epoch, Date.now() + lease.ttlMs, sessionId);
      for (const event of events) this.sql.insertEvent.run(sessionId, event.seq, JSON.stringify(event));
      messages.forEach((message, i) => this.sql.insertMessage.run(sessionId, position + i + 1, JSON.stringify(message)));
      for (const record of commit.idempotency ?? []) this.putIdempotency(record);
    });

    this.deleteTx = this.db.transaction((id: string) => {
      const removed = this.sql.deleteSession.run(id).changes === 1;
      this.sql.deleteEvents.run(id);
      this.sql.deleteMessages.run(id);
      return removed;
    });
  }

  createSession(row: SessionRow, events: SessionEvent[], idempotency?: IdempotencyRecord): Promise<void> {
    return this.grouped(() => this.createTx(row, events, idempotency));
  }

  async loadSession(id: string): Promise<SessionRow | null> {
    const record = this.sql.loadSession.get(id) as SessionRecord | undefined;
    return record ? toRow(record) : null;
  }

  async sessionVersion(id: string): Promise<number | null> {
    return (this.sql.sessionVersion.get(id) as number | undefined) ?? null;
  }

  commit(commit: Commit): Promise<void> {
    return this.grouped(() => this.commitTx(commit));
  }

  /**
   * Group commit: every write that arrives within one turn of the event loop
   * shares one transaction, each in its own savepoint so a conflict rolls back
   * only itself. A write resolves only after that transaction is durable.
   */
  private grouped(write: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ write, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => this.flushQueued());
    });
  }

  private flushQueued(): void {
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    const failures = new Map<number, unknown>();
    try {
      if (!this.db.open) throw new Error('The database is closed');
      // A lone write is its own transaction; an outer one would only add a savepoint.
      if (batch.length === 1) {
        batch[0].write();
        batch[0].resolve();
        return;
      }
      this.db.transaction(() => {
        batch.forEach(({ write }, i) => {
          try {
            write();
          } catch (error) {
            failures.set(i, error);
          }
        });
      })();
    } catch (error) {
      for (const { reject } of batch) reject(error);
      return;
    }
    batch.forEach(({ resolve, reject }, i) => (failures.has(i) ? reject(failures.get(i)) : resolve()));
  }

  async deleteSession(id: string): Promise<boolean> {
    return this.deleteTx(id);
  }

  async listSessions({ tenant, limit, cursor, state }: ListQuery): Promise<Page<SessionRow>> {
    const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
    const records = (
      state ? this.sql.listByState.all(tenant, state, before, limit + 1) : this.sql.listAll.all(tenant, before, limit + 1)
    ) as SessionRecord[];
    const page = records.slice(0, limit);
    return {
      items: page.map(toRow),
      nextCursor: records.length > limit ? String(page.at(-1)!.ordinal) : null,
    };
  }

  async countByState(): Promise<Record<SessionState, number>> {
    const counts = Object.fromEntries(SESSION_STATES.map((s) => [s, 0])) as Record<SessionState, number>;
    for (const { state, n } of this.sql.countByState.all() as { state: SessionState; n: number }[]) counts[state] = n;
    return counts;
  }

  async readEvents(sessionId: string, after: number, limit: number): Promise<SessionEvent[]> {
    return (this.sql.readEvents.all(sessionId, after, limit) as string[]).map((data) => JSON.parse(data) as SessionEvent);
  }

  async readMessages(sessionId: string, { limit, cursor }: { limit: number; cursor?: string }): Promise<Page<Message>> {
    const after = cursor === undefined ? 0 : Number(cursor);
    const records = this.sql.readMessages.all(sessionId, after, limit + 1) as { position: number; data: string }[];
    const page = records.slice(0, limit);
    return {
      items: page.map((r) => JSON.parse(r.data) as Message),
      nextCursor: records.length > limit ? String(page.at(-1)!.position) : null,
    };
  }

  async readRecentMessages(sessionId: string, limit: number): Promise<Message[]> {
    return (this.sql.readRecentMessages.all(sessionId, limit) as string[]).reverse().map((data) => JSON.parse(data) as Message);
  }

  async expiredRuns(): Promise<string[]> {
    return this.sql.expiredRuns.all(Date.now()) as string[];
  }

  async runningSessions(): Promise<string[]> {
    return this.sql.idsInState.all('running') as string[];
  }

  async interruptedSessions(): Promise<string[]> {
    return this.sql.interrupted.all() as string[];
  }

  async renewLeases(owner: string, sessionIds: readonly string[], ttlMs: number): Promise<string[]> {
    if (sessionIds.length === 0) return [];
    const until = Date.now() + ttlMs;
    return this.db.transaction(() => sessionIds.filter((id) => this.sql.renewLease.run(until, id, owner).changes === 1))();
  }

  async getIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | null> {
    const row = this.sql.getIdempotency.get(tenant, key) as IdempotencyRecordRow | undefined;
    return row ? toIdempotencyRecord(row) : null;
  }

  async purgeIdempotency(before: string): Promise<number> {
    return this.sql.purgeIdempotency.run(before).changes;
  }

  async createApiKey(record: Omit<ApiKeyRecord, 'revoked_at'>): Promise<void> {
    this.sql.insertApiKey.run(record);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.sql.listApiKeys.all() as ApiKeyRecord[];
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    return this.sql.revokeApiKey.run(at, id).changes === 1;
  }

  async findApiKey(hash: string): Promise<ApiKeyRecord | null> {
    return (this.sql.findApiKey.get(hash) as ApiKeyRecord | undefined) ?? null;
  }

  async countActiveApiKeys(): Promise<number> {
    return this.sql.countActiveApiKeys.get() as number;
  }

  async ping(): Promise<void> {
    this.sql.ping.get();
  }

  async close(): Promise<void> {
    this.flushQueued();
    if (!this.db.open) return;
    this.db.close();
    if (this.location !== ':memory:') unlockDatabase(this.location);
  }

  private putIdempotency(record: IdempotencyRecord): void {
    if (this.sql.putIdempotency.run(record).changes !== 1) throw new IdempotencyKeyTaken(record.tenant, record.key);
  }
}

