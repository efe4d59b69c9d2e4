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
    const run = (started[0] as PromiseFulfilledResult<{ run_id: string; status: string; created_at: string }>).value;
    expect(run.status).toBe('running');
    // The run as recorded: runs.get tells the same start.
    expect((await client.runs.get(thread.thread_id, run.run_id)).created_at).toBe(run.created_at);
    expect((await client.threads.get(thread.thread_id)).status).toBe('busy');

    const values: any = await client.runs.join(thread.thread_id, run.run_id);
    expect(values.messages.map((message: any) => message.type)).toEqual(['human', 'ai']);
    // On an idle thread every strategy starts the run, as in LangGraph.
    const next: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('next'), multitaskStrategy: 'enqueue' });
    expect(next.messages.at(-1).content).toBe('Echo: next');
  });
});

describe('multitask strategies on a busy thread', () => {
  it('enqueue: a pending run named by its message until it starts; join, get and stream follow the run it becomes', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const busy = await client.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 1000') });
    const pending = await client.runs.create(thread.thread_id, 'demo', { input: humanInput('second'), multitaskStrategy: 'enqueue' });
    expect(pending).toMatchObject({ run_id: expect.stringMatching(/^msg_/), status: 'pending', multitask_strategy: 'enqueue' });
    expect((await client.runs.list(thread.thread_id, { status: 'pending' })).map((run) => run.run_id)).toEqual([pending.run_id]);
    // The third streams its run once its turn comes, after the second's.
    const third = collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('third'), multitaskStrategy: 'enqueue', streamMode: ['values', 'messages-tuple'] }));

    const afterSecond: any = await client.runs.join(thread.thread_id, pending.run_id);
    expect(afterSecond.messages.slice(0, 4).map((message: any) => message.content)).toEqual(['/sleep 1000', 'Slept 1000 ms', 'second', 'Echo: second']);
    const became = await client.runs.get(thread.thread_id, pending.run_id);
    expect(became).toMatchObject({ run_id: expect.stringMatching(/^run_/), status: 'success' });
    expect(became.run_id).not.toBe(busy.run_id);

    const parts = await third;
    expect(parts[0].data.run_id).toMatch(/^run_/);
    expect(streamedText(parts)).toBe('Echo: third');
    const firstValues = parts.find((part) => part.event === 'values')!.data.messages.map((message: any) => message.content);
    expect(firstValues).toEqual(['/sleep 1000', 'Slept 1000 ms', 'second', 'Echo: second', 'third']);
    expect(parts.at(-1)).toMatchObject({ event: 'end', data: { status: 'success' } });
    expect((await client.runs.list(thread.thread_id)).map((run) => run.status)).toEqual(['success', 'success', 'success']);
  });

  it('enqueue: a stream behind a busy thread opens at once, naming its pending run, and streams that run when its turn comes', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    await client.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 1000') });
    const created: { run_id: string; busy: Promise<string> }[] = [];
    const parts = await collect(
      client.runs.stream(thread.thread_id, 'demo', {
        input: humanInput('later'),
        multitaskStrategy: 'enqueue',
        streamMode: ['messages-tuple'],
        onRunCreated: ({ run_id }) => created.push({ run_id, busy: client.threads.get(thread.thread_id).then((t) => t.status) }),
      }),
    );
    // Told while the run ahead still ran: the pending run, by its message's id.
    expect(created.map((c) => c.run_id)).toEqual([expect.stringMatching(/^msg_/)]);
    expect(await created[0]!.busy).toBe('busy');
    expect(streamedText(parts)).toBe('Echo: later');
    expect(parts.at(-1)).toMatchObject({ event: 'end', data: { status: 'success' } });
  });

  it('enqueue: cancelling the pending run takes its message back', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    await client.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 1000') });
    const pending = await client.runs.create(thread.thread_id, 'demo', { input: humanInput('never mind'), multitaskStrategy: 'enqueue' });
    expect((await client.threads.get(thread.thread_id)).status).toBe('busy');
    await client.runs.cancel(thread.thread_id, pending.run_id);
    expect(await client.runs.get(thread.thread_id, pending.run_id)).toMatchObject({ run_id: pending.run_id, status: 'interrupted' });
    const stream = await collect(client.runs.joinStream(thread.thread_id, pending.run_id));
    expect(stream.map((part) => part.event)).toEqual(['metadata', 'end']);
    // Listed as runs.get tells it, newest first.
    const [taken, slept] = await client.runs.list(thread.thread_id);
    expect(taken).toMatchObject({ run_id: pending.run_id, status: 'interrupted' });
    const values: any = await client.runs.join(thread.thread_id, slept.run_id);
    expect(values.messages.map((message: any) => message.content)).toEqual(['/sleep 1000', 'Slept 1000 ms']);
  });

  it('interrupt cancels the active run and runs the new input; rollback also takes the superseded turn and its run out', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const first = await client.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 5000') });
    const taken: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('instead'), multitaskStrategy: 'interrupt' });
    expect((await client.runs.get(thread.thread_id, first.run_id)).status).toBe('interrupted');
    expect(taken.messages.map((message: any) => message.content)).toEqual(['/sleep 5000', 'instead', 'Echo: instead']);

    const second = await client.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 5000') });
    const rolled: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('rather'), multitaskStrategy: 'rollback' });
    expect(rolled.messages.map((message: any) => message.content)).toEqual(['/sleep 5000', 'instead', 'Echo: instead', 'rather', 'Echo: rather']);
    // As LangGraph deletes a rolled-back run and its checkpoints: gone from the runs and the history, whose chain skips it.
    expect((await failure(client.runs.get(thread.thread_id, second.run_id))).status).toBe(404);
    expect((await client.runs.list(thread.thread_id)).map((run) => run.run_id)).not.toContain(second.run_id);
    const history = await client.threads.getHistory(thread.thread_id);
    expect(history.map((state) => (state.values as any).messages.length)).toEqual([5, 3, 1]);
    expect(history.map((state) => state.parent_checkpoint?.checkpoint_id ?? null)).toEqual([history[1].checkpoint.checkpoint_id, history[2].checkpoint.checkpoint_id, null]);
    expect((await client.threads.getState(thread.thread_id)).parent_checkpoint).toEqual(history[0].parent_checkpoint);

    // With a question open, interrupt sets it aside for the new input.
    await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('/ask Sure? | yes | no') });
    expect((await client.threads.get(thread.thread_id)).status).toBe('interrupted');
    expect((await failure(client.runs.create(thread.thread_id, 'demo', { input: humanInput('other') }))).status).toBe(409);
    const moved: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('other'), multitaskStrategy: 'interrupt' });
    expect(moved.__interrupt__).toBeUndefined();
    expect(moved.messages.at(-1).content).toBe('Echo: other');

    // With a question open, rollback takes the asking turn out: its run and its checkpoint.
    await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('/ask Again? | yes | no') });
    const [asking] = await client.runs.list(thread.thread_id);
    const before = await client.threads.getHistory(thread.thread_id);
    const replaced: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('never mind'), multitaskStrategy: 'rollback' });
    expect(replaced.messages.slice(-3).map((message: any) => message.content)).toEqual(['Echo: other', 'never mind', 'Echo: never mind']);
    expect((await failure(client.runs.get(thread.thread_id, asking.run_id))).status).toBe(404);
    const after = await client.threads.getHistory(thread.thread_id);
    expect(after.length).toBe(before.length);
    expect(after[0].parent_checkpoint?.checkpoint_id).toBe(before[1].checkpoint.checkpoint_id);
    expect((await client.threads.getState(thread.thread_id)).parent_checkpoint?.checkpoint_id).toBe(before[1].checkpoint.checkpoint_id);
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
    // Its task reads as failed, as LangGraph's do after a cancel: useStream drops it after stop() rather than show a breakpoint.
    const state = await client.threads.getState(thread.thread_id);
    expect(state).toMatchObject({ next: ['running'], tasks: [{ id: runId, error: 'Run cancelled', interrupts: [] }] });
    expect((await client.threads.getHistory(thread.thread_id))[0]).toMatchObject({ next: ['running'], tasks: [{ id: runId, error: 'Run cancelled' }] });
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

  it('runs.wait with on_disconnect "cancel": a client that leaves takes its run back, queued or running; one that stays gets its answer', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const leave = new AbortController();
    const waiting = client.runs.wait(thread.thread_id, 'demo', { input: humanInput('/sleep 10000'), onDisconnect: 'cancel', signal: leave.signal });
    waiting.catch(() => undefined);
    const runId = await vi.waitFor(
      async () => {
        const [run] = await client.runs.list(thread.thread_id, { status: 'running' });
        expect(run).toBeDefined();
        return run!.run_id;
      },
      { timeout: 5_000, interval: 20 },
    );
    // Queued behind it, waited on by a client that leaves too.
    const later = new AbortController();
    const queued = client.runs.wait(thread.thread_id, 'demo', { input: humanInput('never'), multitaskStrategy: 'enqueue', onDisconnect: 'cancel', signal: later.signal });
    queued.catch(() => undefined);
    await vi.waitFor(async () => expect(await client.runs.list(thread.thread_id, { status: 'pending' })).toHaveLength(1), { timeout: 5_000, interval: 20 });
    later.abort();
    await expect(queued).rejects.toThrow();
    await vi.waitFor(async () => expect(await client.runs.list(thread.thread_id, { status: 'pending' })).toEqual([]), { timeout: 5_000, interval: 20 });
    leave.abort();
    await expect(waiting).rejects.toThrow();
    await vi.waitFor(async () => expect((await client.runs.get(thread.thread_id, runId)).status).toBe('interrupted'), { timeout: 5_000, interval: 20 });
    expect((await client.threads.getState(thread.thread_id)).values).toMatchObject({ messages: [{ content: '/sleep 10000' }] });

    // Answered before leaving: nothing is cancelled.
    const done: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('stay'), multitaskStrategy: 'interrupt', onDisconnect: 'cancel' });
    expect(done.messages.at(-1).content).toBe('Echo: stay');
    expect((await client.runs.list(thread.thread_id))[0].status).toBe('success');
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
