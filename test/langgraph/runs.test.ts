/** One run per thread, cancel, join, and streams that survive a disconnect, through the SDK. */
import { Client } from '@langchain/langgraph-sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from '../http/helpers.js';
import { collect, failure, humanInput, type Part, startLangGraph, streamedText } from './helpers.js';

afterEach(cleanup);

const WORDS = Array.from({ length: 16 }, (_, i) => `w${i}`).join(' ');

describe('one run per thread', () => {
  it('concurrent runs.create on an idle thread: one starts, the others get 409 as LangGraph answers reject', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => client.runs.create(thread.thread_id, 'demo', { input: humanInput(`/sleep ${300 + i}`) })));
    const started = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(started).toHaveLength(1);
    expect(refused.map((result) => result.reason.status)).toEqual([409, 409, 409]);
    expect(refused[0].reason.text).toContain('already running');
    const run = (started[0] as PromiseFulfilledResult<{ run_id: string; status: string }>).value;
    expect(run.status).toBe('running');
    expect((await client.threads.get(thread.thread_id)).status).toBe('busy');

    // The other strategies would queue or preempt; until the runtime does, they are refused on a busy thread.
    for (const multitaskStrategy of ['enqueue', 'interrupt', 'rollback'] as const) {
      const refusal = await failure(client.runs.create(thread.thread_id, 'demo', { input: humanInput('later'), multitaskStrategy }));
      expect(refusal.status).toBe(422);
      expect(refusal.detail).toContain(multitaskStrategy);
    }
    const values: any = await client.runs.join(thread.thread_id, run.run_id);
    expect(values.messages.map((message: any) => message.type)).toEqual(['human', 'ai']);
    // On an idle thread every strategy starts the run, as in LangGraph.
    const next: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('next'), multitaskStrategy: 'enqueue' });
    expect(next.messages.at(-1).content).toBe('Echo: next');
  });

  it('cancel interrupts the run and its stream; the turn can be run again; unknown runs are 404', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const stream = client.runs.stream(thread.thread_id, 'demo', { input: humanInput('/sleep 5000'), streamMode: 'updates' });
    const first = await stream.next();
    const runId = first.value.data.run_id;
    await client.runs.cancel(thread.thread_id, runId);
    const rest: Part[] = [];
    for await (const part of stream) rest.push(part);
    expect(rest.at(-1)).toMatchObject({ event: 'end', data: { run_id: runId, status: 'interrupted' } });
    expect(await client.runs.get(thread.thread_id, runId)).toMatchObject({ status: 'interrupted' });
    expect((await failure(client.runs.cancel(thread.thread_id, runId))).status).toBe(409);
    expect((await failure(client.runs.get(thread.thread_id, 'run_nope'))).status).toBe(404);
    expect((await failure(client.runs.cancel(thread.thread_id, 'run_nope'))).status).toBe(404);

    // The user turn is still unanswered: a run without input retries it; cancel with wait returns once it ended.
    expect((await client.threads.getState(thread.thread_id)).next).toEqual(['running']);
    const retry = await client.runs.create(thread.thread_id, 'demo', {});
    expect((await failure(client.runs.cancel(thread.thread_id, retry.run_id, false, 'rollback'))).status).toBe(422);
    await client.runs.cancel(thread.thread_id, retry.run_id, true);
    expect(await client.runs.get(thread.thread_id, retry.run_id)).toMatchObject({ status: 'interrupted' });
    expect((await client.threads.get(thread.thread_id)).status).toBe('idle');
  });

  it('on_disconnect "cancel" cancels the run when its client goes', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const leave = new AbortController();
    let runId = '';
    for await (const part of client.runs.stream(thread.thread_id, 'demo', { input: humanInput('/sleep 5000'), onDisconnect: 'cancel', signal: leave.signal })) {
      runId = (part.data as { run_id: string }).run_id;
      break;
    }
    leave.abort();
    await vi.waitFor(async () => expect((await client.runs.get(thread.thread_id, runId)).status).toBe('interrupted'), { timeout: 5_000, interval: 20 });
  });
});

describe('streams that survive a disconnect', () => {
  it('joinStream with the last event id sends the rest of the run, nothing twice', async () => {
    const { client } = await startLangGraph({ tokenDelayMs: 30 });
    const thread = await client.threads.create();
    const leave = new AbortController();
    const seen: Part[] = [];
    for await (const part of client.runs.stream(thread.thread_id, 'demo', { input: humanInput(WORDS), streamMode: 'messages-tuple', signal: leave.signal })) {
      seen.push(part);
      if (seen.filter((p) => p.event === 'messages').length === 3) break;
    }
    leave.abort();
    const runId = seen[0].data.run_id;
    const lastEventId = seen.at(-1)!.id!;
    const rest = await collect(client.runs.joinStream(thread.thread_id, runId, { lastEventId, streamMode: 'messages-tuple' }));
    expect(rest[0].event).toBe('messages');
    expect(Number(rest[0].id)).toBeGreaterThan(Number(lastEventId));
    expect(streamedText(seen) + streamedText(rest)).toBe(`Echo: ${WORDS}`);
    expect(rest.at(-1)).toMatchObject({ event: 'end', data: { status: 'success' } });

    // From the start ("-1", as useStream rejoins), the whole run again; by default in values mode.
    const all = await collect(client.runs.joinStream(thread.thread_id, runId, { lastEventId: '-1', streamMode: ['messages-tuple'] }));
    expect(all[0].event).toBe('metadata');
    expect(streamedText(all)).toBe(`Echo: ${WORDS}`);
    const values = await collect(client.runs.joinStream(thread.thread_id, runId));
    expect(values.map((part) => part.event)).toEqual(['metadata', 'values', 'values', 'end']);
    expect((await failure(collect(client.runs.joinStream(thread.thread_id, 'run_nope')))).status).toBe(404);
  });

  it('the SDK reconnects on its own after a dropped connection and misses nothing', async () => {
    let dropped = false;
    // Cuts the first event stream after a few reads, as a network failure would.
    const flakyFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (dropped || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) return response;
      dropped = true;
      let reads = 0;
      const cut = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (++reads > 3) controller.error(new TypeError('terminated'));
          else controller.enqueue(chunk);
        },
      });
      return new Response(response.body!.pipeThrough(cut), { status: response.status, headers: response.headers });
    };
    const { apiUrl } = await startLangGraph({ tokenDelayMs: 30 });
    const client = new Client({ apiUrl, callerOptions: { fetch: flakyFetch } });
    const thread = await client.threads.create();
    const parts = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput(WORDS), streamMode: 'messages-tuple' }));
    expect(dropped).toBe(true);
    expect(streamedText(parts)).toBe(`Echo: ${WORDS}`);
    const ids = parts.filter((part) => part.event === 'messages').map((part) => Number(part.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(parts.filter((part) => part.event === 'end')).toHaveLength(1);
  });
});
