/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is
 * synchronous, so each method runs its transaction to completion before it
 * returns; the Promise-shaped port is what lets PostgreSQL share the contract.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Message, SessionEvent, SessionState } from '../../domain/types.js';
import { SESSION_STATES } from '../../domain/types.js';
import type { Commit, IdempotencyRecord, Page, SessionRow, Store } from '../store.js';
import { VersionConflict } from '../store.js';
import { migrate } from './migrations.js';

interface SessionRecord {
  ordinal: number;
  id: string;
  title: string | null;
  agent: string;
  system_prompt: string | null;
  metadata: string;
  state: SessionState;
  snapshot: string;
  version: number;
  last_event_seq: number;
  message_count: number;
  created_at: string;
  updated_at: string;
}

function toRow(record: SessionRecord): SessionRow {
  return {
    info: {
      id: record.id,
      title: record.title,
      agent: record.agent,
      system_prompt: record.system_prompt,
      metadata: JSON.parse(record.metadata) as Record<string, unknown>,
      created_at: record.created_at,
    },
    state: record.state,
    snapshot: record.snapshot,
    version: record.version,
    last_event_seq: record.last_event_seq,
    message_count: record.message_count,
    updated_at: record.updated_at,
  };
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly sql;
  private readonly commitTx;
  private readonly createTx;
  private readonly deleteTx;
  /** Commits waiting for the next group transaction. */
  private queued: { write: () => void; resolve: () => void; reject: (error: unknown) => void }[] = [];

  /** `path` is a file (its folder is created) or `:memory:`. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // With WAL, NORMAL loses no committed transaction on a process crash; only an OS crash can drop the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    const db = this.db;
    this.sql = {
      insertSession: db.prepare(`INSERT INTO sessions
        (id, title, agent, system_prompt, metadata, state, snapshot, version, last_event_seq, message_count, created_at, updated_at)
        VALUES (@id, @title, @agent, @system_prompt, @metadata, @state, @snapshot, @version, @last_event_seq, @message_count, @created_at, @updated_at)`),
      loadSession: db.prepare('SELECT * FROM sessions WHERE id = ?'),
      updateWithSnapshot: db.prepare(`UPDATE sessions SET state = ?, snapshot = ?, version = version + 1,
        last_event_seq = COALESCE(?, last_event_seq), message_count = message_count + ?, updated_at = ? WHERE id = ? AND version = ?`),
      updateLog: db.prepare(`UPDATE sessions SET version = version + 1,
        last_event_seq = COALESCE(?, last_event_seq), message_count = message_count + ?, updated_at = ? WHERE id = ? AND version = ?`),
      messagePosition: db.prepare('SELECT message_count FROM sessions WHERE id = ?').pluck(),
      insertEvent: db.prepare('INSERT INTO events (session_id, seq, data) VALUES (?, ?, ?)'),
      insertMessage: db.prepare('INSERT INTO messages (session_id, position, data) VALUES (?, ?, ?)'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
      deleteEvents: db.prepare('DELETE FROM events WHERE session_id = ?'),
      deleteMessages: db.prepare('DELETE FROM messages WHERE session_id = ?'),
      listAll: db.prepare('SELECT * FROM sessions WHERE ordinal < ? ORDER BY ordinal DESC LIMIT ?'),
      listByState: db.prepare('SELECT * FROM sessions WHERE state = ? AND ordinal < ? ORDER BY ordinal DESC LIMIT ?'),
      idsInState: db.prepare('SELECT id FROM sessions WHERE state = ? ORDER BY ordinal').pluck(),
      countByState: db.prepare('SELECT state, COUNT(*) AS n FROM sessions GROUP BY state'),
      readEvents: db.prepare('SELECT data FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?').pluck(),
      readMessages: db.prepare(
        'SELECT position, data FROM messages WHERE session_id = ? AND position > ? ORDER BY position LIMIT ?',
      ),
      getIdempotency: db.prepare('SELECT * FROM idempotency_keys WHERE key = ?'),
      putIdempotency: db.prepare(`INSERT OR IGNORE INTO idempotency_keys (key, method, path, body_hash, status, body, created_at)
        VALUES (@key, @method, @path, @bodyHash, @status, @body, @createdAt)`),
      purgeIdempotency: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
      ping: db.prepare('SELECT 1').pluck(),
    };

    this.createTx = db.transaction((row: SessionRow, events: SessionEvent[]) => {
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
    });

    this.commitTx = db.transaction((commit: Commit) => {
      const { sessionId, expectedVersion, updatedAt, events, messages } = commit;
      const position = messages.length > 0 ? (this.sql.messagePosition.get(sessionId) as number | undefined) ?? 0 : 0;
      const lastSeq = events.at(-1)?.seq ?? null;
      const update = commit.snapshot
        ? this.sql.updateWithSnapshot.run(commit.snapshot.state, commit.snapshot.data, lastSeq, messages.length, updatedAt, sessionId, expectedVersion)
        : this.sql.updateLog.run(lastSeq, messages.length, updatedAt, sessionId, expectedVersion);
      if (update.changes !== 1) throw new VersionConflict(sessionId, expectedVersion);
      for (const event of events) this.sql.insertEvent.run(sessionId, event.seq, JSON.stringify(event));
      messages.forEach((message, i) => this.sql.insertMessage.run(sessionId, position + i + 1, JSON.stringify(message)));
    });

    this.deleteTx = db.transaction((id: string) => {
      const removed = this.sql.deleteSession.run(id).changes === 1;
      this.sql.deleteEvents.run(id);
      this.sql.deleteMessages.run(id);
      return removed;
    });
  }

  createSession(row: SessionRow, events: SessionEvent[]): Promise<void> {
    return this.grouped(() => this.createTx(row, events));
  }

  async loadSession(id: string): Promise<SessionRow | null> {
    const record = this.sql.loadSession.get(id) as SessionRecord | undefined;
    return record ? toRow(record) : null;
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

  async listSessions({ limit, cursor, state }: { limit: number; cursor?: string; state?: SessionState }): Promise<Page<SessionRow>> {
    const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
    const records = (
      state ? this.sql.listByState.all(state, before, limit + 1) : this.sql.listAll.all(before, limit + 1)
    ) as SessionRecord[];
    const page = records.slice(0, limit);
    return {
      items: page.map(toRow),
      nextCursor: records.length > limit ? String(page.at(-1)!.ordinal) : null,
    };
  }

  async sessionIdsInState(state: SessionState): Promise<string[]> {
    return this.sql.idsInState.all(state) as string[];
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

  async getIdempotency(key: string): Promise<IdempotencyRecord | null> {
    const row = this.sql.getIdempotency.get(key) as
      | { key: string; method: string; path: string; body_hash: string; status: number; body: string; created_at: string }
      | undefined;
    return row
      ? { key: row.key, method: row.method, path: row.path, bodyHash: row.body_hash, status: row.status, body: row.body, createdAt: row.created_at }
      : null;
  }

  async putIdempotency(record: IdempotencyRecord): Promise<void> {
    this.sql.putIdempotency.run(record);
  }

  async purgeIdempotency(before: string): Promise<number> {
    return this.sql.purgeIdempotency.run(before).changes;
  }

  async ping(): Promise<void> {
    this.sql.ping.get();
  }

  async close(): Promise<void> {
    this.flushQueued();
    if (this.db.open) this.db.close();
  }
}
