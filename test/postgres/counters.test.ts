/**
 * The counts every instance shares on PostgreSQL, at the store: open event
 * streams per tenant (taken under the tenant's lock, live while renewed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { createTestDatabase, query } from './database.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function twoStores(): Promise<{ url: string; a: PgStore; b: PgStore }> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const [a, b] = await Promise.all(['instance-a', 'instance-b'].map((instanceId) => PgStore.open(db.url, { max: 8, instanceId })));
  cleanups.push(() => a!.close(), () => b!.close());
  return { url: db.url, a: a!, b: b! };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MINUTE = 60_000;

describe('open event streams counted across instances', () => {
  it('lets exactly `limit` of many opens from two instances at once through, per tenant', async () => {
    const { a, b } = await twoStores();
    const opens = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).openStream('acme', i % 2 === 0 ? 'instance-a' : 'instance-b', 7, MINUTE)),
    );
    expect(opens.filter(Boolean)).toHaveLength(7);
    // Another tenant has its own count; a limit of 0 is none.
    expect(await a.openStream('beta', 'instance-a', 7, MINUTE)).toBe(true);
    expect(await a.openStream('acme', 'instance-a', 0, MINUTE)).toBe(true);
  });

  it('frees a place when a stream closes, on whichever instance it was open', async () => {
    const { a, b } = await twoStores();
    expect(await a.openStream('acme', 'instance-a', 2, MINUTE)).toBe(true);
    expect(await b.openStream('acme', 'instance-b', 2, MINUTE)).toBe(true);
    expect(await a.openStream('acme', 'instance-a', 2, MINUTE)).toBe(false);
    await b.closeStream('acme', 'instance-b');
    expect(await a.openStream('acme', 'instance-a', 2, MINUTE)).toBe(true);
    // A close with nothing open counts nothing below zero.
    await b.closeStream('acme', 'instance-b');
    await b.closeStream('acme', 'instance-b');
    expect(await b.openStream('acme', 'instance-b', 3, MINUTE)).toBe(true);
    expect(await b.openStream('acme', 'instance-b', 3, MINUTE)).toBe(false);
  });

  it('stops counting the streams of an instance that no longer renews them', async () => {
    const { a, b } = await twoStores();
    expect(await a.openStream('acme', 'instance-a', 1, 300)).toBe(true);
    expect(await b.openStream('acme', 'instance-b', 1, MINUTE)).toBe(false);
    await sleep(400);
    expect(await b.openStream('acme', 'instance-b', 1, MINUTE)).toBe(true);
  });

  it('renewing sets the instance\'s counts as given, keeps them live, and drops its tenants not given', async () => {
    const { url, a, b } = await twoStores();
    for (const tenant of ['acme', 'acme', 'beta']) expect(await a.openStream(tenant, 'instance-a', 0, 300)).toBe(true);
    // The instance knows one acme stream closed that the database missed, and beta's ended.
    await a.renewStreams('instance-a', new Map([['acme', 1]]), MINUTE);
    await sleep(400);
    expect(await b.openStream('acme', 'instance-b', 2, MINUTE)).toBe(true);
    expect(await b.openStream('acme', 'instance-b', 2, MINUTE)).toBe(false);
    const rows = await query(url, "SELECT tenant, instance, open FROM tenant_streams WHERE instance = 'instance-a' ORDER BY tenant");
    expect(rows).toEqual([{ tenant: 'acme', instance: 'instance-a', open: 1 }]);
    // Renewing with none clears the instance.
    await a.renewStreams('instance-a', new Map(), MINUTE);
    expect(await query(url, "SELECT * FROM tenant_streams WHERE instance = 'instance-a'")).toEqual([]);
  });
});
