/**
 * Webhooks from two instances on one PostgreSQL database: both dispatch from
 * the shared outbox, each delivery is claimed by one of them at a time, and
 * every run ending reaches the receiver under its own webhook-id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API } from '../http/helpers.js';
import { closeReceivers, FAST, startReceiver } from '../webhooks/helpers.js';
import { newSecret } from '../webhooks/receiver.js';
import { createTestDatabase } from './database.js';
import { createSession, sendMessage, startInstance, waitForSession } from './instances.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await closeReceivers();
});

describe('webhooks with two instances', () => {
  it('sends each run ending once per attempt, from one instance at a time, retried under the same id', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const secret = newSecret();
    const hooks = await startReceiver({ secret, failFirst: 1 });
    const webhooks = { urls: [`${hooks.url}/hooks`], secret, ...FAST };
    const [a, b] = await Promise.all([startInstance(db.url, 'instance-a', { webhooks }), startInstance(db.url, 'instance-b', { webhooks })]);
    cleanups.push(() => a.close(), () => b.close());

    const runs = 12;
    const ids: string[] = [];
    for (let i = 0; i < runs; i++) {
      const on = i % 2 === 0 ? a : b;
      const session = await createSession(on, { metadata: { n: i } });
      ids.push(session.id);
      expect((await sendMessage(on, session.id, `hello ${i}`)).status).toBe(202);
    }
    for (const id of ids) await waitForSession(a, id, (session) => session.state === 'completed');

    // An attempt whose result could not be recorded (the database slow under a loaded machine) is retried when its claim lapses, 15 s on.
    await hooks.waitFor(() => new Set(hooks.delivered.map((request) => request.id)).size === runs, 40_000);
    const bodies = [...new Map(hooks.delivered.map((request) => [request.id, request.body])).values()];
    expect(bodies.map((body) => body.type)).toEqual(Array(runs).fill('run.completed'));
    expect(new Set(bodies.map((body) => body.data.session_id))).toEqual(new Set(ids));
    // Claimed by one instance at a time: exactly one failed attempt and one delivered attempt per id, in that order.
    for (const { id } of hooks.delivered) {
      expect(hooks.requests.filter((request) => request.id === id).map((request) => [request.attempt, request.answered])).toEqual([
        [1, 500],
        [2, 204],
      ]);
    }
    // Either instance lists them, as delivered.
    const listed = await b.call('GET', `${API}/webhooks/deliveries?status=delivered&limit=200`);
    expect(listed.body.deliveries).toHaveLength(runs);
  }, 60_000);
});
