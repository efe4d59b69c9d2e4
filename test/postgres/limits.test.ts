/**
 * Per-tenant limits with two instances on one PostgreSQL database: requests
 * a minute, concurrent runs and open event streams are counted in the
 * database, so a tenant cannot double its allowance by spreading its calls
 * over both.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { API } from '../http/helpers.js';
import { openStream } from '../http/raw-http.js';
import { createTestDatabase } from './database.js';
import { type Instance, type InstanceOptions, startInstance } from './instances.js';

const ACME = { tenant: 'acme', key: 'acme-key-0123456789abcdefghij' };
const BETA = { tenant: 'beta', key: 'beta-key-0123456789abcdefghij' };
const as = ({ key }: { key: string }) => ({ Authorization: `Bearer ${key}` });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pair(access: InstanceOptions['access']): Promise<[Instance, Instance]> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const options = { access: { apiKeys: [ACME, BETA], ...access } };
  const both = await Promise.all([startInstance(db.url, 'instance-a', options), startInstance(db.url, 'instance-b', options)]);
  cleanups.push(...both.map((instance) => () => instance.close()));
  return both as [Instance, Instance];
}

describe('per-tenant limits across two instances', () => {
  it('requests a minute: both instances count into one window', async () => {
    const [a, b] = await pair({ rateLimitPerMinute: 6 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await (i % 2 === 0 ? a : b).call('GET', `${API}/sessions`, { headers: as(ACME) })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    const refused = await a.call('GET', `${API}/sessions`, { headers: as(ACME) });
    expect(refused.body.error).toMatchObject({ code: 'rate_limited', limit: 6 });
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    // Another tenant has its own count.
    expect((await b.call('GET', `${API}/sessions`, { headers: as(BETA) })).status).toBe(200);
  });

  it('concurrent runs: starts spread over both instances stop at the limit, and nothing over it is stored', async () => {
    const [a, b] = await pair({ maxRunsPerTenant: 3 });
    const sessions = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => (await (i % 2 === 0 ? a : b).call('POST', `${API}/sessions`, { json: {}, headers: as(ACME) })).body.session.id as string),
    );
    const replies = await Promise.all(
      sessions.map((id, i) => (i % 2 === 0 ? b : a).call('POST', `${API}/sessions/${id}/messages`, { json: { content: '/sleep 3000' }, headers: as(ACME) })),
    );
    expect(replies.filter((reply) => reply.status === 202)).toHaveLength(3);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(refused).toHaveLength(5);
    for (const reply of refused) expect(reply.body.error).toMatchObject({ code: 'too_many_runs', limit: 3 });
    for (const [i, reply] of replies.entries()) {
      if (reply.status !== 429) continue;
      const view = (await a.call('GET', `${API}/sessions/${sessions[i]}`, { headers: as(ACME) })).body.session;
      expect(view).toMatchObject({ state: 'idle', message_count: 0 });
    }
    // A run ending frees a place, on either instance.
    const running = sessions.filter((_, i) => replies[i]!.status === 202);
    expect((await b.call('POST', `${API}/sessions/${running[0]}/cancel`, { headers: as(ACME) })).status).toBe(200);
    const idle = sessions.find((_, i) => replies[i]!.status === 429)!;
    expect((await a.call('POST', `${API}/sessions/${idle}/messages`, { json: { content: 'now' }, headers: as(ACME) })).status).toBe(202);
  });

  it('open event streams: both instances count into one limit, a close on either frees a place, and a refused stream opens nothing', async () => {
    const [a, b] = await pair({ maxStreamsPerTenant: 3 });
    const session = (await a.call('POST', `${API}/sessions`, { json: {}, headers: as(ACME) })).body.session.id as string;
    const path = `${API}/sessions/${session}/events`;
    const open = [await openStream(a.url, path, as(ACME)), await openStream(b.url, path, as(ACME)), await openStream(a.url, path, as(ACME))];
    expect(open.map((stream) => stream.status)).toEqual([200, 200, 200]);
    for (const instance of [a, b]) {
      const refused = await instance.call('GET', path, { headers: { ...as(ACME), Accept: 'text/event-stream' } });
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: 'too_many_streams', limit: 3 });
    }
    // A run's stream over the LangGraph API counts too, and a refused one starts no run.
    const refusedRun = await b.call('POST', `/langgraph/threads/${session}/runs/stream`, { json: { assistant_id: 'demo', input: { messages: [{ role: 'user', content: 'hi' }] } }, headers: as(ACME) });
    expect(refusedRun.status).toBe(429);
    expect((await a.call('GET', `${API}/sessions/${session}`, { headers: as(ACME) })).body.session).toMatchObject({ state: 'idle', message_count: 0 });
    // Another tenant has its own count.
    const other = (await b.call('POST', `${API}/sessions`, { json: {}, headers: as(BETA) })).body.session.id as string;
    const beta = await openStream(b.url, `${API}/sessions/${other}/events`, as(BETA));
    expect(beta.status).toBe(200);
    open[1]!.close();
    await vi.waitFor(async () => {
      const again = await openStream(a.url, path, as(ACME));
      if (again.status !== 200) throw new Error(`still refused: ${again.status}`);
      open.push(again);
    });
    for (const stream of [...open, beta]) stream.close();
  });
});
