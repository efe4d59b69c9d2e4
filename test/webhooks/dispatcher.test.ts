/**
 * The dispatcher's schedule, on its own clock: exponential backoff with full
 * jitter up to the cap, retries for the whole window and not a moment less,
 * one log line when it gives up; and a shutdown that leaves nothing claimed.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { DeliveryRecord } from '../../src/storage/store.js';
import { type DeliveryResult, WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { event, sessionRow } from '../contract/store.contract.js';
import { capture, closeReceivers, startReceiver } from './helpers.js';
import { newSecret } from './receiver.js';

const HOUR = 60 * 60 * 1000;
const stores: SqliteStore[] = [];
afterEach(async () => {
  await closeReceivers();
  for (const store of stores.splice(0)) await store.close();
});

/** A store with one run ending's delivery to `url`, created at `createdAt`. */
async function storeWithDelivery(url: string, createdAt: number): Promise<SqliteStore> {
  const store = new SqliteStore(':memory:');
  stores.push(store);
  await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')]);
  const at = new Date(createdAt).toISOString();
  await store.commit({
    sessionId: 'ses_a',
    expectedVersion: 1,
    updatedAt: at,
    events: [event('ses_a', 2, 'run_completed', { run_id: 'run_1' })],
    messages: [],
    outbox: [{ id: 'dlv_1', tenant: 'default', sessionId: 'ses_a', runId: 'run_1', type: 'run.completed', url, payload: '{"type":"run.completed"}', createdAt: at }],
  });
  return store;
}

async function only(store: SqliteStore): Promise<DeliveryRecord> {
  return (await store.listDeliveries({ tenant: 'default', limit: 1 })).items[0];
}

describe('the dispatcher', () => {
  it('backs off exponentially with full jitter up to the cap, retries for the whole window, then fails and says so once', async () => {
    const secret = newSecret();
    const hooks = await startReceiver({ secret, answer: () => 500 });
    let clock = Date.now();
    const created = clock;
    const store = await storeWithDelivery(hooks.url, created);
    const { logger, lines } = capture();
    const results: DeliveryResult[] = [];
    const dispatcher = new WebhookDispatcher({
      outbox: store,
      urls: [hooks.url],
      secret,
      owner: 'me',
      logger,
      now: () => clock,
      random: () => 0.5,
      // Polling would not move this clock; the test wakes the dispatcher when the next attempt is due.
      pollIntervalMs: HOUR,
    });
    dispatcher.start((result) => results.push(result));

    const waits: number[] = [];
    for (let attempt = 1; ; attempt++) {
      // Settled: claimed for this attempt, then failed for good or due again later.
      const settled = await vi.waitFor(async () => {
        const record = await only(store);
        if (record.attempts !== attempt || (record.status === 'pending' && Date.parse(record.nextAttemptAt) <= clock)) throw new Error(`attempt ${attempt} not settled`);
        return record;
      }, { interval: 5 });
      if (settled.status === 'failed') break;
      // Hours ahead of the real clock, the receiver refuses the signature's timestamp (401): a failed attempt all the same.
      expect(settled.lastError).toMatch(/^HTTP (500|401)$/);
      waits.push(Date.parse(settled.nextAttemptAt) - clock);
      clock = Date.parse(settled.nextAttemptAt);
      dispatcher.wake();
    }
    await dispatcher.stop();

    // Half of base × 2^(n − 1), as random() is 0.5, until half the one-hour cap.
    expect(waits.slice(0, 13)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 1_024_000, 1_800_000]);
    expect(waits.slice(12).every((wait) => wait === 1_800_000)).toBe(true);
    // The last attempt was made 24 h or more after the delivery was created, the one before under 24 h.
    expect(clock - created).toBeGreaterThanOrEqual(24 * HOUR);
    expect(clock - waits.at(-1)! - created).toBeLessThan(24 * HOUR);
    expect(hooks.requests).toHaveLength(waits.length + 1);
    expect(new Set(hooks.requests.map((request) => request.id))).toEqual(new Set(['dlv_1']));
    expect(results).toEqual([...waits.map(() => 'retried'), 'failed']);
    expect(await only(store)).toMatchObject({ status: 'failed', finishedAt: new Date(clock).toISOString(), lastError: 'HTTP 401' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, delivery_id: 'dlv_1', session_id: 'ses_a', attempts: waits.length + 1, error: 'HTTP 401' });
    expect(hooks.requests[0].answered).toBe(500);
  });

  it('a shutdown cuts an attempt short and leaves the delivery due at once, claimable by anyone', async () => {
    const secret = newSecret();
    const hanging = await startReceiver({ secret, answer: () => 'hang' });
    const store = await storeWithDelivery(hanging.url, Date.now());
    const dispatcher = new WebhookDispatcher({ outbox: store, urls: [hanging.url], secret, owner: 'me', logger: pino({ level: 'silent' }), timeoutMs: 60_000 });
    dispatcher.start();
    await hanging.waitFor((requests) => requests.length === 1);
    const stopping = Date.now();
    await dispatcher.stop();
    expect(Date.now() - stopping).toBeLessThan(1_000);
    const record = await only(store);
    expect(record).toMatchObject({ status: 'pending', attempts: 1, lastError: 'cut off by a shutdown' });
    expect(Date.parse(record.nextAttemptAt)).toBeLessThanOrEqual(Date.now());
    expect(await store.claimDeliveries({ owner: 'another', now: new Date().toISOString(), limit: 10, claimMs: 1_000 })).toMatchObject([{ id: 'dlv_1', attempts: 2 }]);
  });
});
