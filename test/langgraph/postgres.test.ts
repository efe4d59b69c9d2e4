/**
 * The LangGraph API on two instances sharing one PostgreSQL database, each
 * with its own SDK client: a thread started on one is resumed, streamed,
 * queued on and cancelled through the other.
 */
import { Client } from '@langchain/langgraph-sdk';
import type { Agent } from '../../src/agents/agent.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../postgres/database.js';
import { type Instance, startInstance } from '../postgres/instances.js';
import { collect, humanInput, type Part, streamedText } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The production default: short leases (the failover suites' 600 ms) lapse under a loaded CI machine and end runs as interrupted. */
const LEASE_MS = 10_000;
const WORDS = Array.from({ length: 12 }, (_, i) => `w${i}`).join(' ');

/** A second assistant, whose replies say who made them. */
const other: Agent = {
  async run(ctx) {
    return { kind: 'completed', message: `other: ${ctx.messages.at(-1)?.content ?? ''}` };
  },
};

async function pair(): Promise<[Client, Client]> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const started: Instance[] = await Promise.all(
    ['instance-a', 'instance-b'].map((id) => startInstance(db.url, id, { tokenDelayMs: 25, leaseMs: LEASE_MS, agents: { other } })),
  );
  for (const instance of started) cleanups.push(() => instance.close());
  return [new Client({ apiUrl: `${started[0].url}/langgraph` }), new Client({ apiUrl: `${started[1].url}/langgraph` })];
}

describe('the LangGraph API on two instances of one PostgreSQL database', () => {
  it('a question asked through one is answered through the other; a run streamed on one is joined from the other', async () => {
    const [a, b] = await pair();
    const thread = await a.threads.create({ metadata: { user: 'ann' } });
    const asked = await collect(a.runs.stream(thread.thread_id, 'demo', { input: humanInput('/ask Colour? | red | blue'), streamMode: 'updates' }));
    expect(asked.at(-1)).toMatchObject({ event: 'end', data: { status: 'interrupted' } });
    expect((await b.threads.get(thread.thread_id)).status).toBe('interrupted');

    const resumed = await collect(b.runs.stream(thread.thread_id, 'demo', { command: { resume: 'red' }, streamMode: 'messages-tuple' }));
    expect(streamedText(resumed)).toBe('You answered: red');
    const messages = ((await a.threads.getState(thread.thread_id)).values as any).messages;
    expect(messages.map((message: any) => message.type)).toEqual(['human', 'tool', 'ai']);

    // A run on A, left after three chunks, then joined from B where it was left.
    const leave = new AbortController();
    const seen: Part[] = [];
    for await (const part of a.runs.stream(thread.thread_id, 'demo', { input: humanInput(WORDS), streamMode: 'messages-tuple', signal: leave.signal })) {
      seen.push(part);
      if (seen.filter((p) => p.event === 'messages').length === 3) break;
    }
    leave.abort();
    const rest = await collect(b.runs.joinStream(thread.thread_id, seen[0].data.run_id, { lastEventId: seen.at(-1)!.id, streamMode: 'messages-tuple' }));
    expect(streamedText(seen) + streamedText(rest)).toBe(`Echo: ${WORDS}`);
  });

  it('input queued through one runs after the run of the other; a run is cancelled from the instance that does not run it', async () => {
    const [a, b] = await pair();
    const thread = await a.threads.create();
    const sleeping = await a.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 1000') });
    const pending = await b.runs.create(thread.thread_id, 'demo', { input: humanInput('queued on b'), multitaskStrategy: 'enqueue' });
    expect(pending.status).toBe('pending');
    const values: any = await b.runs.join(thread.thread_id, pending.run_id);
    expect(values.messages.map((message: any) => message.content)).toEqual(['/sleep 1000', 'Slept 1000 ms', 'queued on b', 'Echo: queued on b']);
    expect((await a.runs.get(thread.thread_id, sleeping.run_id)).status).toBe('success');

    const long = await a.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 10000') });
    await b.runs.cancel(thread.thread_id, long.run_id, true);
    expect((await a.runs.get(thread.thread_id, long.run_id)).status).toBe('interrupted');
  });

  it('a thread made on one without an assistant takes, through the other, the assistant of its first run; both then hold to it', async () => {
    const [a, b] = await pair();
    const thread = await a.threads.create();
    // A knows the thread before B binds it.
    expect((await a.threads.get(thread.thread_id)).metadata).toMatchObject({ graph_id: 'demo' });
    const values: any = await b.runs.wait(thread.thread_id, 'other', { input: humanInput('hi') });
    expect(values.messages.at(-1).content).toBe('other: hi');
    expect((await a.threads.get(thread.thread_id)).metadata).toMatchObject({ graph_id: 'other' });
    await expect(a.runs.wait(thread.thread_id, 'demo', { input: humanInput('again') })).rejects.toMatchObject({ status: 422 });
    const again: any = await a.runs.wait(thread.thread_id, 'other', { input: humanInput('again') });
    expect(again.messages.at(-1).content).toBe('other: again');
  });
});
