/**
 * A thread created without an assistant (as `useStream` creates it) takes the
 * assistant of its first run, as LangGraph's threads do; once it has run, it
 * keeps it. Through the SDK, on a real server with two agents.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { cleanup, tempDb } from '../http/helpers.js';
import { failure, humanInput, startLangGraph } from './helpers.js';

afterEach(cleanup);

/** Answers every message with its own name, so a reply says which agent ran. */
const other: Agent = {
  async run(ctx) {
    return { kind: 'completed', message: `other: ${ctx.messages.at(-1)?.content ?? ''}` };
  },
};

const lastReply = (values: any): string => values.messages.at(-1).content;

describe('a thread created without an assistant', () => {
  it('takes the assistant of its first run, which the run uses; afterwards another assistant is refused', async () => {
    const { client } = await startLangGraph({ agents: { other } });
    const thread = await client.threads.create();
    expect(thread.metadata).toMatchObject({ graph_id: 'demo' });

    const values = await client.runs.wait(thread.thread_id, 'other', { input: humanInput('hi') });
    expect(lastReply(values)).toBe('other: hi');
    expect((await client.threads.get(thread.thread_id)).metadata).toMatchObject({ graph_id: 'other', assistant_id: 'other' });
    const [run] = await client.runs.list(thread.thread_id);
    expect(run).toMatchObject({ assistant_id: 'other', status: 'success' });

    const refused = await failure(client.runs.wait(thread.thread_id, 'demo', { input: humanInput('again') }));
    expect(refused).toEqual({ status: 422, detail: `Thread ${thread.thread_id} belongs to assistant other, not demo` });
    expect(lastReply(await client.runs.wait(thread.thread_id, 'other', { input: humanInput('again') }))).toBe('other: again');
  });

  it('takes it whatever the multitask strategy, and through a stream', async () => {
    const { client } = await startLangGraph({ agents: { other } });
    const thread = await client.threads.create();
    const parts = [];
    for await (const part of client.runs.stream(thread.thread_id, 'other', { input: humanInput('hi'), multitaskStrategy: 'enqueue', streamMode: 'values' })) parts.push(part);
    expect(lastReply(parts.filter((part) => part.event === 'values').at(-1)!.data)).toBe('other: hi');
    expect((await client.threads.get(thread.thread_id)).metadata).toMatchObject({ graph_id: 'other' });
  });

  it('keeps the assistant it took across a restart', async () => {
    const dbPath = tempDb();
    const first = await startLangGraph({ agents: { other }, dbPath });
    const thread = await first.client.threads.create();
    await first.client.runs.wait(thread.thread_id, 'other', { input: humanInput('hi') });
    await first.server.server.close();

    const { client } = await startLangGraph({ agents: { other }, dbPath });
    expect((await client.threads.get(thread.thread_id)).metadata).toMatchObject({ graph_id: 'other' });
    expect((await failure(client.runs.wait(thread.thread_id, 'demo', { input: humanInput('again') }))).status).toBe(422);
  });

  it('that two first runs race for: exactly one assistant is taken, and every run that started ran with it', async () => {
    const { client } = await startLangGraph({ agents: { other } });
    for (let round = 0; round < 10; round++) {
      const thread = await client.threads.create();
      const results = await Promise.allSettled(
        (['demo', 'other'] as const).map((assistant) => client.runs.wait(thread.thread_id, assistant, { input: humanInput(assistant), multitaskStrategy: 'enqueue' })),
      );
      const taken = (await client.threads.get(thread.thread_id)).metadata!.graph_id;
      expect(['demo', 'other']).toContain(taken);
      const runs = await client.runs.list(thread.thread_id);
      expect(runs.length).toBeGreaterThanOrEqual(1);
      for (const run of runs) expect(run.assistant_id).toBe(taken);
      for (const result of results) {
        if (result.status === 'rejected') expect((result.reason as { status: number }).status).toBeOneOf([409, 422]);
      }
      const transcript = (await client.threads.getState(thread.thread_id)).values as any;
      for (const reply of transcript.messages.filter((m: any) => m.type === 'ai')) {
        expect(reply.content.startsWith('other: ')).toBe(taken === 'other');
      }
    }
  });

  it('a thread that has run, or was created for an assistant and has run, keeps its assistant', async () => {
    const { client } = await startLangGraph({ agents: { other } });
    const ran = await client.threads.create();
    await client.runs.wait(ran.thread_id, 'demo', { input: humanInput('hi') });
    expect((await failure(client.runs.wait(ran.thread_id, 'other', { input: humanInput('hi') }))).status).toBe(422);
    const named = await client.threads.create({ graphId: 'other' });
    await client.runs.wait(named.thread_id, 'other', { input: humanInput('hi') });
    expect((await failure(client.runs.stream(named.thread_id, 'demo', { input: humanInput('hi') }).next())).status).toBe(422);
    expect((await client.threads.getState(ran.thread_id)).values).toMatchObject({ messages: [{ content: 'hi' }, expect.anything()] });
  });
});
