/**
 * Round trips to PostgreSQL per human-in-the-loop turn: a message that makes
 * the agent ask, and the answer that makes it reply. Counted by wrapping the
 * pool's `query`, through which every statement of the store goes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import type { SessionEvent } from '../../src/domain/events.js';
import type { PgStore } from '../../src/storage/postgres/pg-store.js';
import { API } from '../http/helpers.js';
import { createTestDatabase } from './database.js';
import { createSession, type Instance, sendMessage, startInstance } from './instances.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Asks on a user turn, replies to an answer; no tokens, so every round trip counts. */
const asker: Agent = {
  async run({ messages }) {
    const last = messages.at(-1)!;
    return last.role === 'tool' ? { kind: 'completed', message: `You answered: ${last.content}` } : { kind: 'awaitingUser', question: { text: 'Colour?', options: ['red', 'blue'] } };
  },
};

/** Counts statements; a commit whose events are all tokens is counted apart. */
function countRoundTrips(store: PgStore): { total: number; tokenCommits: number; reset(): void } {
  const counts = { total: 0, tokenCommits: 0, reset: () => Object.assign(counts, { total: 0, tokenCommits: 0 }) };
  const original = store.pool.query.bind(store.pool) as (...args: unknown[]) => unknown;
  (store.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, ...rest: unknown[]) => {
    counts.total++;
    const { name, values } = config as { name?: string; values?: unknown[] };
    const events = name === 'bamboo_commit' ? (values![10] as string[]).map((text) => JSON.parse(text) as SessionEvent) : [];
    if (events.length > 0 && events.every((event) => event.type === 'token')) counts.tokenCommits++;
    return original(config, ...rest);
  };
  return counts;
}

/** Resolves once an event of `type` is durable in `instance`. */
function durable<T extends SessionEvent['type']>(instance: Instance, type: T): Promise<Extract<SessionEvent, { type: T }>> {
  return new Promise((resolve) => {
    const stop = instance.server.runtime.observe((events) => {
      const found = events.find((event): event is Extract<SessionEvent, { type: T }> => event.type === type);
      if (found) {
        stop();
        resolve(found);
      }
    });
  });
}

/** A message on `ask` that makes the agent ask, then the answer on `answer`; counting starts after the session exists. */
async function hitlTurn(ask: Instance, answer: Instance, content: string, startCounting: () => void): Promise<void> {
  const session = await createSession(ask);
  startCounting();
  const asked = durable(ask, 'question_asked');
  expect((await sendMessage(ask, session.id, content)).status).toBe(202);
  const question = await asked;
  const completed = durable(answer, 'run_completed');
  const reply = await answer.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: question.question.id, answer: 'red' } });
  expect(reply.status).toBe(202);
  await completed;
}

describe('round trips per HITL turn', () => {
  it('costs 6 round trips on one instance, 7 when the answer arrives at another, excluding token commits', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    // A long lease: no renewal or recovery sweep falls inside the turn.
    const options = { agents: { asker }, defaultAgent: 'asker', leaseMs: 60_000 };
    const a = await startInstance(db.url, 'instance-a', options);
    cleanups.push(() => a.close());
    const b = await startInstance(db.url, 'instance-b', options);
    cleanups.push(() => b.close());
    const onA = countRoundTrips(a.store);
    const onB = countRoundTrips(b.store);
    const reset = () => (onA.reset(), onB.reset());
    const counted = () => ({ total: onA.total + onB.total, tokens: onA.tokenCommits + onB.tokenCommits });

    await hitlTurn(a, a, 'ask me', reset);
    const single = counted();
    await hitlTurn(a, b, 'ask me', reset);
    const split = counted();
    console.info(`round trips per HITL turn: ${single.total} on one instance, ${split.total} with the answer on another`);
    expect(single).toEqual({ total: 6, tokens: 0 });
    expect(split).toEqual({ total: 7, tokens: 0 });
  });

  it('with the demo agent, tokens add commits of their own and nothing else', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const a = await startInstance(db.url, 'instance-a', { leaseMs: 60_000 });
    cleanups.push(() => a.close());
    const counts = countRoundTrips(a.store);
    await hitlTurn(a, a, '/ask Pick a colour | red | blue', () => counts.reset());
    console.info(`demo agent HITL turn: ${counts.total} round trips, of which ${counts.tokenCommits} token-only commits`);
    expect(counts.total - counts.tokenCommits).toBe(6);
  });
});
