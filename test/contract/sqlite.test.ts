/** The SQLite adapter: the shared storage contract, plus what only a file database can show. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { VersionConflict } from '../../src/storage/store.js';
import { DatabaseInUse } from '../../src/storage/sqlite/single-instance.js';
import { describeStoreContract, event, message, sessionRow, snap, tick } from './store.contract.js';

/** The first migration's SQL, as released: a database made by the first version of the server. */
function readFirstMigration(): string {
  const source = readFileSync(new URL('../../src/storage/sqlite/migrations.ts', import.meta.url), 'utf8');
  return source.split('`')[1];
}

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-store-'));
  dirs.push(dir);
  // A folder that does not exist yet: the store creates it.
  return join(dir, 'nested', 'bamboo.db');
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract('SQLite :memory:', () => new SqliteStore(':memory:'));
describeStoreContract('SQLite file', () => new SqliteStore(tempFile()));

describe('SQLite file database', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const handle of open.splice(0)) await handle.close();
  });

  it('keeps everything across a close and reopen', async () => {
    const file = tempFile();
    const first = new SqliteStore(file);
    const row = sessionRow('ses_durable');
    await first.createSession(row, [event('ses_durable', 1, 'session_created')]);
    const reply = message(2, { run_id: 'run_1' });
    const events = [event('ses_durable', 2, 'message_appended', { message: reply }), event('ses_durable', 3, 'run_completed', { run_id: 'run_1' })];
    const updatedAt = tick();
    const key = { tenant: 'default', key: 'k1', method: 'POST', path: '/api/v1/sessions', bodyHash: 'h', status: 201, body: '{}', createdAt: tick() };
    await first.commit({ sessionId: 'ses_durable', expectedVersion: 1, updatedAt, snapshot: snap('completed', '{"done":1}'), events, messages: [reply], idempotency: [key] });
    await first.close();

    const second = new SqliteStore(file);
    open.push(second);
    expect(await second.loadSession('ses_durable')).toEqual({
      ...row,
      state: 'completed',
      snapshot: '{"done":1}',
      version: 2,
      last_event_seq: 3,
      message_count: 1,
      updated_at: updatedAt,
    });
    expect((await second.readEvents('ses_durable', 0, 10)).slice(1)).toEqual(events);
    expect((await second.readMessages('ses_durable', { limit: 10 })).items).toEqual([reply]);
    expect(await second.getIdempotency('default', 'k1')).toEqual(key);
    expect(await second.countByState()).toMatchObject({ completed: 1 });
    // Compare-and-set continues from the stored version.
    await expect(second.commit({ sessionId: 'ses_durable', expectedVersion: 1, updatedAt: tick(), events: [], messages: [] })).rejects.toBeInstanceOf(VersionConflict);
    await second.commit({ sessionId: 'ses_durable', expectedVersion: 2, updatedAt: tick(), events: [event('ses_durable', 4)], messages: [] });
  });

  it('is held by one store at a time: a second (and a third) is refused, naming the holder, and the first goes on unaffected', async () => {
    const file = tempFile();
    const first = new SqliteStore(file);
    open.push(first);
    await first.createSession(sessionRow('ses_held'), [event('ses_held', 1, 'session_created')]);
    let refusal: unknown;
    try {
      open.push(new SqliteStore(file));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(DatabaseInUse);
    expect((refusal as Error).message).toContain(`process ${process.pid}`);
    expect((refusal as Error).message).toContain('PostgreSQL');
    // A refused store leaves the holder's record: the next one refused still names it.
    expect(() => new SqliteStore(file)).toThrow(`process ${process.pid}`);
    await first.commit({ sessionId: 'ses_held', expectedVersion: 1, updatedAt: tick(), events: [event('ses_held', 2)], messages: [] });
    expect((await first.loadSession('ses_held'))?.version).toBe(2);
    await first.close();
    open.splice(open.indexOf(first), 1);
    // Closed, the file is free again.
    const next = new SqliteStore(file);
    open.push(next);
    expect((await next.loadSession('ses_held'))?.version).toBe(2);
  });

  it('migrates a database of the first schema: its sessions belong to the default tenant, its idempotency keys are kept', async () => {
    const file = tempFile();
    mkdirSync(dirname(file), { recursive: true });
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    old.exec(readFirstMigration());
    old.prepare('INSERT INTO schema_migrations VALUES (1, ?)').run(tick());
    const row = sessionRow('ses_old');
    old.prepare(`INSERT INTO sessions (id, title, agent, system_prompt, metadata, state, snapshot, version, last_event_seq, message_count, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, 'idle', '{"schema_version":1,"state":"idle","context":{"lastRun":{"status":"interrupted"}}}', 3, 1, 0, ?, ?)`).run(
      row.info.id, row.info.title, row.info.agent, row.info.system_prompt, JSON.stringify(row.info.metadata), row.info.created_at, row.updated_at,
    );
    old.prepare("INSERT INTO idempotency_keys VALUES ('k-old', 'POST', '/api/v1/sessions', 'h', 201, '{}', ?)").run(tick());
    old.close();

    const store = new SqliteStore(file);
    open.push(store);
    expect(await store.loadSession('ses_old')).toMatchObject({ info: { tenant: 'default' }, version: 3, lease_owner: null, lease_epoch: 0 });
    expect((await store.listSessions({ tenant: 'default', limit: 10 })).items).toHaveLength(1);
    expect(await store.interruptedSessions()).toEqual(['ses_old']);
    expect(await store.getIdempotency('default', 'k-old')).toMatchObject({ status: 201 });
  });

  it('creates missing folders, several deep, and fails at once where one cannot be made (under /proc)', async () => {
    const file = join(dirname(tempFile()), 'a', 'b', 'bamboo.db');
    open.push(new SqliteStore(file));
    expect(readFileSync(file).subarray(0, 15).toString()).toBe('SQLite format 3');
    expect(() => new SqliteStore('/proc/no-such-folder/bamboo.db')).toThrow(/ENOENT/);
  });

  it('uses WAL and records its schema version once', async () => {
    const file = tempFile();
    await new SqliteStore(file).close();
    await new SqliteStore(file).close();
    const db = new Database(file, { readonly: true });
    open.push(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(versions.length).toBeGreaterThanOrEqual(1);
  });

  it('stores a commit as one row and reads it alongside rows of one event each, as servers before schema 8 wrote them', async () => {
    const file = tempFile();
    const store = new SqliteStore(file);
    open.push(store);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    const commit = [2, 3, 4].map((seq) => event('ses_a', seq, 'token', { text: `t${seq}\nwith a newline` }));
    await store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: commit, messages: [] });
    await store.close();

    const db = new Database(file);
    expect(db.prepare("SELECT seq FROM events WHERE session_id = 'ses_a' ORDER BY seq").pluck().all()).toEqual([1, 4]);
    // Rows of one event each, as an earlier server wrote them, after the commit's row.
    const insert = db.prepare("INSERT INTO events (session_id, seq, data) VALUES ('ses_a', ?, ?)");
    for (const seq of [5, 6]) insert.run(seq, JSON.stringify(event('ses_a', seq, 'token', { text: `t${seq}` })));
    db.prepare("UPDATE sessions SET last_event_seq = 6 WHERE id = 'ses_a'").run();
    db.close();

    const reopened = new SqliteStore(file);
    open.push(reopened);
    expect((await reopened.readEvents('ses_a', 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await reopened.readEvents('ses_a', 2, 100)).toEqual([...commit.slice(1), expect.objectContaining({ seq: 5 }), expect.objectContaining({ seq: 6 })]);
    expect((await reopened.readEvents('ses_a', 3, 2)).map((e) => e.seq)).toEqual([4, 5]);
    expect((await reopened.readEvents('ses_a', 4, 1)).map((e) => e.seq)).toEqual([5]);
  });

  it('refuses a commit whose events skip a number, writing nothing', async () => {
    const store = new SqliteStore(tempFile());
    open.push(store);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    const gapped = [event('ses_a', 2, 'token', { text: 'a' }), event('ses_a', 4, 'token', { text: 'b' })];
    await expect(store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: gapped, messages: [] })).rejects.toThrow(/without gaps/);
    expect(await store.readEvents('ses_a', 0, 10)).toHaveLength(1);
    expect(await store.sessionVersion('ses_a')).toBe(1);
  });

  it('refuses a database written by a newer server', async () => {
    const file = tempFile();
    await new SqliteStore(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(999, tick());
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/newer/);
  });
});
