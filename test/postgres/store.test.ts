/**
 * What only a shared PostgreSQL store can show, beyond the contract: several
 * stores (instances) on one database, migrations racing, commits of one round
 * trip that notify, and a database that goes away and comes back.
 */
import { describe, expect, it } from 'vitest';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { CHANNELS } from '../../src/storage/postgres/statements.js';
import type { Commit } from '../../src/storage/store.js';
import { IdempotencyKeyTaken, StorageUnavailable, VersionConflict } from '../../src/storage/store.js';
import { event, message, sessionRow, snap, tick } from '../contract/store.contract.js';
import { query, urlOf } from './database.js';
import { perTest } from './per-test.js';
import { PgProxy } from './proxy.js';

const { later, database, store: open, connection: client } = perTest();


/** Counts the store's round trips: every statement goes through its pool's `query`. */
function countQueries(store: PgStore): { count: () => number } {
  let n = 0;
  const original = store.pool.query.bind(store.pool) as (...args: unknown[]) => unknown;
  (store.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    n++;
    return original(...args);
  };
  return { count: () => n };
}

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

function record(key: string, tenant = 'default') {
  return { tenant, key, method: 'POST', path: '/api/v1/sessions', bodyHash: 'h', status: 201, body: '{}', createdAt: tick() };
}

describe('PostgreSQL store', () => {
  it('names itself: kind postgres, shared, and its URL without the password', async () => {
    const db = await database();
    const store = await open(urlOf(db.name, { password: 's3cret-pw' }));
    expect(store.kind).toBe('postgres');
    expect(store.shared).toBe(true);
    expect(store.location).toBe(`postgres://postgres:***@127.0.0.1:5432/${db.name}`);
    expect(store.location).not.toContain('s3cret-pw');
  });

  it('creates its tables once when many instances start together on an empty database, and refuses a newer schema', async () => {
    const db = await database({ empty: true });
    const stores = await Promise.all(Array.from({ length: 6 }, () => open(db.url)));
    await stores[0]!.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    expect(await stores[5]!.loadSession('ses_a')).not.toBeNull();
    const versions = await query<{ version: number }>(db.url, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.map((row) => row.version)).toEqual(versions.map((_, i) => i + 1));

    await query(db.url, 'INSERT INTO schema_migrations VALUES (999, $1)', [tick()]);
    await expect(PgStore.open(db.url)).rejects.toThrow(/newer than this server/);
  });

  it('writes a commit with events, messages, a lease and an idempotency record in one round trip', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    const queries = countQueries(store);
    await store.commit({
      sessionId: 'ses_a',
      expectedVersion: 1,
      updatedAt: tick(),
      snapshot: snap('running', '{}', 'running'),
      events: [event('ses_a', 2, 'message_appended'), event('ses_a', 3, 'run_started')],
      messages: [message(1), message(2)],
      lease: { owner: 'instance-a', epoch: 1, ttlMs: 10_000 },
      idempotency: [record('k1'), record('k2')],
    });
    expect(queries.count()).toBe(1);
    await expect(store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [], messages: [] })).rejects.toBeInstanceOf(VersionConflict);
    expect(queries.count()).toBe(2);
    expect(await store.loadSession('ses_a')).toMatchObject({ version: 2, last_event_seq: 3, message_count: 2, lease_owner: 'instance-a' });
  });

  it('lets exactly one of many instances commit the same version', async () => {
    const db = await database();
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(db.url)));
    await stores[0]!.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    const attempt = (i: number): Commit => ({
      sessionId: 'ses_a',
      expectedVersion: 1,
      updatedAt: tick(),
      snapshot: snap('running', `{"writer":${i}}`, 'running'),
      events: [event('ses_a', 2, 'run_started', { run_id: `run_${i}` })],
      messages: [message(i)],
      lease: { owner: `instance-${i % 4}`, epoch: 1, ttlMs: 10_000 },
    });
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => stores[i % 4]!.commit(attempt(i))));
    const won = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(VersionConflict);
    const row = (await stores[1]!.loadSession('ses_a'))!;
    expect(row).toMatchObject({ version: 2, snapshot: `{"writer":${won[0]}}`, lease_owner: `instance-${won[0]! % 4}`, message_count: 1 });
    expect(await stores[2]!.readEvents('ses_a', 1, 10)).toEqual([expect.objectContaining({ run_id: `run_${won[0]}` })]);
  });

  it('deletes what a commit that finished while the deletion waited for the session added: no events or messages left behind', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    // Another instance's commit holds the session's row while the deletion arrives.
    const other = await client(db.url);
    await other.query('BEGIN');
    await other.query('UPDATE sessions SET version = version + 1 WHERE id = $1', ['ses_a']);
    await other.query(`INSERT INTO events (session_id, seq, data) VALUES ('ses_a', 2, '{}')`);
    await other.query(`INSERT INTO messages (session_id, position, data, message_id) VALUES ('ses_a', 1, '{}', 'msg_1')`);
    const deleted = store.deleteSession('ses_a');
    // The deletion waits for the row; let it start waiting before the commit lands.
    await waitUntil(async () => (await query(db.url, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).length > 0);
    await other.query('COMMIT');
    expect(await deleted).toBe(true);
    expect(await query(db.url, "SELECT (SELECT count(*) FROM events WHERE session_id = 'ses_a')::int AS events, (SELECT count(*) FROM messages WHERE session_id = 'ses_a')::int AS messages")).toEqual([{ events: 0, messages: 0 }]);
  });

  it('stores one Idempotency-Key sent to two instances at once once; the other creation rolls back', async () => {
    const db = await database();
    const [a, b] = await Promise.all([open(db.url), open(db.url)]);
    for (let round = 0; round < 10; round++) {
      const key = `key-${round}`;
      const results = await Promise.allSettled([
        a.createSession(sessionRow(`ses_a${round}`), [event(`ses_a${round}`, 1, 'session_created')], record(key)),
        b.createSession(sessionRow(`ses_b${round}`), [event(`ses_b${round}`, 1, 'session_created')], record(key)),
      ]);
      const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(IdempotencyKeyTaken);
      expect(lost[0]!.reason).toMatchObject({ tenant: 'default', key });
      const created = [await a.loadSession(`ses_a${round}`), await a.loadSession(`ses_b${round}`)].filter(Boolean);
      expect(created).toHaveLength(1);
    }
    const rows = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM events');
    expect(rows[0]!.n).toBe(10);
  });

  it('names the key that was taken when a commit carries several', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    await store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [], messages: [], idempotency: [record('taken', 'acme')] });
    const failure = store.commit({
      sessionId: 'ses_a',
      expectedVersion: 2,
      updatedAt: tick(),
      events: [event('ses_a', 2)],
      messages: [],
      idempotency: [record('fresh', 'acme'), record('taken', 'acme')],
    });
    await expect(failure).rejects.toMatchObject({ name: 'IdempotencyKeyTaken', tenant: 'acme', key: 'taken' });
    expect(await store.getIdempotency('acme', 'fresh')).toBeNull();
    expect((await store.loadSession('ses_a'))!.version).toBe(2);
  });

  it('notifies `id:seq:instance` when a commit with events is durable, and the deletion of a session, never a lost commit', async () => {
    const db = await database();
    const store = await open(db.url);
    const listener = store.listener();
    later(() => listener.end());
    const heard: string[] = [];
    listener.on('notification', (note) => heard.push(`${note.channel} ${note.payload}`));
    await listener.connect();
    await listener.query(`LISTEN ${CHANNELS.events}; LISTEN ${CHANNELS.deleted}`);

    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    await store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [event('ses_a', 2), event('ses_a', 3)], messages: [] });
    await store.commit({ sessionId: 'ses_a', expectedVersion: 2, updatedAt: tick(), snapshot: snap('idle'), events: [], messages: [] });
    await expect(store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [event('ses_a', 4)], messages: [] })).rejects.toBeInstanceOf(
      VersionConflict,
    );
    await store.commit({ sessionId: 'ses_a', expectedVersion: 3, updatedAt: tick(), events: [event('ses_a', 4)], messages: [] });
    expect(await store.deleteSession('ses_a')).toBe(true);
    expect(await store.deleteSession('ses_a')).toBe(false);
    await expect.poll(() => heard).toEqual([`${CHANNELS.events} ses_a:3:writer-a`, `${CHANNELS.events} ses_a:4:writer-a`, `${CHANNELS.deleted} ses_a`]);
  });

  it('keeps any text a client may send, NUL included, and knows no session whose id has one', async () => {
    const db = await database();
    const store = await open(db.url);
    const odd = 'nul \u0000 · emoji 🚀 · quote " · backslash \\';
    const row = sessionRow('ses_a', { info: { ...sessionRow('ses_a').info, title: odd, system_prompt: odd, agent: odd, metadata: { [odd]: odd } } });
    await store.createSession(row, [event('ses_a', 1, 'session_created')]);
    expect(await store.loadSession('ses_a')).toEqual(row);
    const bad = 'ses_\u0000';
    expect(await store.loadSession(bad)).toBeNull();
    expect(await store.sessionVersion(bad)).toBeNull();
    expect(await store.readEvents(bad, 0, 10)).toEqual([]);
    expect(await store.readMessages(bad, { limit: 10 })).toEqual({ items: [], nextCursor: null });
    expect(await store.readRecentMessages(bad, 10)).toEqual([]);
    expect(await store.deleteSession(bad)).toBe(false);
    await expect(store.commit({ sessionId: bad, expectedVersion: 1, updatedAt: tick(), events: [], messages: [] })).rejects.toBeInstanceOf(VersionConflict);
  });

  it('pages nothing, without failing, past positions beyond any integer', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    await store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [], messages: [message(1)] });
    expect(await store.readEvents('ses_a', 999_999_999_999_999, 10)).toEqual([]);
    expect(await store.readMessages('ses_a', { limit: 10, cursor: '999999999999999' })).toEqual({ items: [], nextCursor: null });
    expect(await store.listSessions({ tenant: 'default', limit: 10, cursor: '999999999999999' })).toMatchObject({ items: [expect.anything()] });
  });

  it('times leases by the database clock', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    await store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), snapshot: snap('running'), events: [], messages: [], lease: { owner: 'a', epoch: 1, ttlMs: 300 } });
    const rows = await query<{ left: number }>(db.url, 'SELECT (extract(epoch FROM lease_expires_at - now()) * 1000)::float8 AS left FROM sessions');
    expect(rows[0]!.left).toBeGreaterThan(0);
    expect(rows[0]!.left).toBeLessThanOrEqual(300);
    expect(await store.expiredRuns()).toEqual([]);
    await expect.poll(() => store.expiredRuns(), { timeout: 2_000, interval: 50 }).toEqual(['ses_a']);
  });

  it("takes an owner's missed commands once, in order, leaving others' and returning none whose asker gave up", async () => {
    const db = await database();
    const store = await open(db.url);
    await store.requestCommand('a', 'ses_1', '{"n":1}');
    await store.requestCommand('b', 'ses_2', '{"n":2}');
    await store.requestCommand('a', 'ses_3', '{"n":3}');
    await query(db.url, "INSERT INTO owner_commands (owner, session_id, command, created_at) VALUES ('a', 'ses_old', '{}', now() - interval '10 seconds')");
    expect(await store.takePendingCommands('a', 3_000)).toEqual([
      { sessionId: 'ses_1', command: '{"n":1}' },
      { sessionId: 'ses_3', command: '{"n":3}' },
    ]);
    expect(await store.takePendingCommands('a', 3_000)).toEqual([]);
    expect(await query(db.url, 'SELECT owner, session_id FROM owner_commands')).toEqual([{ owner: 'b', session_id: 'ses_2' }]);
  });

  it('answers StorageUnavailable while the database is unreachable, writing nothing, and works again once it is back', async () => {
    const db = await database();
    const proxy = await PgProxy.start();
    later(() => proxy.cut());
    const store = await open(urlOf(db.name, { port: proxy.port }));
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);

    await proxy.cut();
    const unreachable = { name: 'StorageUnavailable', reason: 'unreachable' };
    await expect(store.ping()).rejects.toMatchObject(unreachable);
    await expect(store.loadSession('ses_a')).rejects.toBeInstanceOf(StorageUnavailable);
    await expect(store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [event('ses_a', 2)], messages: [] })).rejects.toMatchObject(
      unreachable,
    );

    await proxy.restore();
    await expect.poll(() => store.ping().then(() => 'up', () => 'down'), { timeout: 5_000, interval: 50 }).toBe('up');
    expect(await store.loadSession('ses_a')).toMatchObject({ version: 1, last_event_seq: 1 });
    await store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [event('ses_a', 2)], messages: [] });
  });

  it('fails to open, as unreachable, where nothing listens', async () => {
    const proxy = await PgProxy.start();
    await proxy.cut();
    await expect(PgStore.open(urlOf('postgres', { port: proxy.port }))).rejects.toMatchObject({ name: 'StorageUnavailable', reason: 'unreachable' });
  });

  it('turns a connection lost mid-statement into StorageUnavailable', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    // Another client holds the row, so the commit waits inside the server until its connection is cut.
    const holder = await client(db.url);
    await holder.query("BEGIN; SELECT 1 FROM sessions WHERE id = 'ses_a' FOR UPDATE");
    // Its failure is caught at once: it may come while the test still waits on the holder's query.
    const commit = store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [event('ses_a', 2)], messages: [] }).then(
      () => null,
      (error: unknown) => error,
    );
    await expect
      .poll(async () => (await holder.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n)
      .toBe(1);
    await holder.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    expect(await commit).toMatchObject({ name: 'StorageUnavailable', reason: 'unreachable' });
    await holder.query('ROLLBACK');
    expect(await store.loadSession('ses_a')).toMatchObject({ version: 1 });
  });
});
