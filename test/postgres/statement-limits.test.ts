/**
 * Every statement of the PostgreSQL store is bounded. One that waits on a lock
 * another connection holds is cancelled by the server at its limit and
 * answers `StorageUnavailable` (busy), having written nothing; a server that
 * does not answer at all is given up by the client a margin later
 * (unreachable). Migrations alone wait as long as they must.
 */
import { describe, expect, it } from 'vitest';
import { ANSWER_MARGIN_MS } from '../../src/storage/postgres/connection.js';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { event, sessionRow, tick } from '../contract/store.contract.js';
import { query, urlOf } from './database.js';
import { perTest } from './per-test.js';
import { PgProxy } from './proxy.js';

/** Short, so that the tests are: the server's limit on one statement. */
const LIMIT_MS = 300;
/** What a timer, a round trip and a loaded machine may add to a limit. */
const SLACK_MS = 3_000;
/** The key of the advisory lock migrations take (src/storage/postgres/migrations.ts). */
const MIGRATION_LOCK = 0x0b_a0_b0_01;

const { later, database, store: openStore, connection: holder } = perTest();

const open = (url: string) => openStore(url, { statementTimeoutMs: LIMIT_MS });

/** How long `work` took to settle, and how. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  const error = await work.then(
    () => null,
    (failure: unknown) => failure,
  );
  return { ms: Date.now() - start, error };
}

const busy = { name: 'StorageUnavailable', reason: 'busy' };

describe('PostgreSQL statement limits', () => {
  it('cancels a commit that waits on a row held elsewhere at its limit, as busy, writing nothing; it goes through once the row is free', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    const other = await holder(db.url);
    await other.query("BEGIN; SELECT 1 FROM sessions WHERE id = 'ses_a' FOR UPDATE");

    const commit = () => store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [event('ses_a', 2)], messages: [] });
    const { ms, error } = await timed(commit());
    expect(error).toMatchObject(busy);
    expect((error as Error).message).toMatch(/did not finish a statement in time/);
    expect(ms).toBeGreaterThanOrEqual(LIMIT_MS - 50);
    expect(ms).toBeLessThan(LIMIT_MS + SLACK_MS);
    // Reads do not wait on row locks.
    expect(await store.loadSession('ses_a')).toMatchObject({ version: 1, last_event_seq: 1 });

    await other.query('ROLLBACK');
    await commit();
    expect(await store.loadSession('ses_a')).toMatchObject({ version: 2, last_event_seq: 2 });
  });

  it('bounds reads, renewals and upkeep behind a table locked elsewhere alike', async () => {
    const db = await database();
    const store = await open(db.url);
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
    const other = await holder(db.url);
    await other.query('BEGIN; LOCK TABLE sessions, idempotency_records IN ACCESS EXCLUSIVE MODE');

    const attempts = [
      () => store.loadSession('ses_a'),
      () => store.renewLeases('writer-a', ['ses_a'], 10_000),
      () => store.expiredRuns(),
      // Upkeep may run longer, but waits for a lock no longer than any statement.
      () => store.countByState(),
      () => store.purgeIdempotency(tick()),
      () => store.deleteSessionsIdleSince(tick(), 10),
    ];
    for (const attempt of attempts) {
      const { ms, error } = await timed(attempt());
      expect(error).toMatchObject(busy);
      expect(ms).toBeLessThan(LIMIT_MS + SLACK_MS);
    }

    await other.query('ROLLBACK');
    expect(await store.loadSession('ses_a')).toMatchObject({ version: 1 });
    expect(await store.countByState()).toMatchObject({ idle: 1 });
  });

  it('gives up on a server that does not answer a margin past the limit, as unreachable, and works again once it answers', async () => {
    const db = await database();
    const proxy = await PgProxy.start();
    later(() => proxy.cut());
    const store = await open(urlOf(db.name, { port: proxy.port }));
    await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);

    proxy.stall();
    const { ms, error } = await timed(store.loadSession('ses_a'));
    expect(error).toMatchObject({ name: 'StorageUnavailable', reason: 'unreachable' });
    expect((error as Error).message).toMatch(/did not answer in time/);
    expect(ms).toBeGreaterThanOrEqual(LIMIT_MS + ANSWER_MARGIN_MS - 50);
    expect(ms).toBeLessThan(LIMIT_MS + ANSWER_MARGIN_MS + SLACK_MS);

    proxy.unstall();
    // The connection that went silent was dropped; a new one answers.
    await expect.poll(() => store.ping().then(() => 'up', () => 'down'), { timeout: 5_000, interval: 50 }).toBe('up');
    expect(await store.loadSession('ses_a')).toMatchObject({ version: 1 });
  });

  it("waits for another instance's migration past any statement's limit", async () => {
    const db = await database({ empty: true });
    const other = await holder(db.url);
    await other.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    let opened = false;
    const opening = PgStore.open(db.url, { max: 1, statementTimeoutMs: LIMIT_MS }).finally(() => (opened = true));
    await new Promise((resolve) => setTimeout(resolve, 3 * LIMIT_MS));
    expect(opened).toBe(false);
    await other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    const store = await opening;
    later(() => store.close());
    expect(await query(db.url, 'SELECT count(*)::integer AS n FROM schema_migrations')).toEqual([{ n: expect.any(Number) }]);
    await store.ping({ write: true });
  });
});
