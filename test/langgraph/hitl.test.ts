/**
 * A human-in-the-loop turn driven by the official SDK, unmodified: a run that
 * asks a question ends interrupted, the question is LangGraph's interrupt,
 * `Command({ resume })` answers it and the resumed run's reply is in the state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API, cleanup } from '../http/helpers.js';
import { collect, failure, humanInput, startLangGraph, streamedText } from './helpers.js';

afterEach(cleanup);

const MODES = ['values', 'updates', 'messages-tuple'] as const;

describe('a human-in-the-loop turn through @langchain/langgraph-sdk', () => {
  it('interrupts with the question, resumes with a command, and leaves the answer and the reply in the state', async () => {
    const { client, server } = await startLangGraph();
    const thread = await client.threads.create({ metadata: { user: 'ann' } });
    expect(thread).toMatchObject({ status: 'idle', metadata: { user: 'ann', graph_id: 'demo' }, values: { messages: [] } });

    const asked = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('/ask Which colour? | red | blue'), streamMode: [...MODES] }));
    expect(asked[0].event).toBe('metadata');
    const runId = asked[0].data.run_id;
    expect(runId).toMatch(/^run_/);
    const interrupt = asked.find((part) => part.event === 'updates')!.data.__interrupt__[0];
    expect(interrupt).toEqual({ id: expect.stringMatching(/^q_/), value: { question: 'Which colour?', options: ['red', 'blue'], allow_custom: false } });
    // The first values are the input state; the last ones carry the interrupt, as LangGraph streams them.
    const values = asked.filter((part) => part.event === 'values');
    expect(values[0].data.messages).toEqual([expect.objectContaining({ type: 'human', content: '/ask Which colour? | red | blue' })]);
    expect(values.at(-1)!.data).toEqual({ __interrupt__: [interrupt] });
    expect(asked.at(-1)).toMatchObject({ event: 'end', data: { run_id: runId, status: 'interrupted' } });

    // The native API sees the same session waiting for the same question.
    const native = (await server.call('GET', `${API}/sessions/${thread.thread_id}`)).body.session;
    expect(native).toMatchObject({ state: 'awaitingUser', pending_question: { id: interrupt.id } });

    expect(await client.threads.get(thread.thread_id)).toMatchObject({ status: 'interrupted', interrupts: { [runId]: [interrupt] } });
    const waiting = await client.threads.getState(thread.thread_id);
    expect(waiting.next).toEqual(['running']);
    expect(waiting.tasks).toEqual([expect.objectContaining({ id: runId, name: 'running', interrupts: [interrupt] })]);
    expect((waiting as any).interrupts).toEqual([interrupt]);

    // New input while the question waits is refused; the answer must come as a command.
    expect((await failure(client.runs.create(thread.thread_id, 'demo', { input: humanInput('hello?') }))).status).toBe(409);
    expect((await failure(client.runs.create(thread.thread_id, 'demo', { command: { resume: 'green' } }))).status).toBe(422);

    const resumed = await collect(client.runs.stream(thread.thread_id, 'demo', { command: { resume: 'red' }, streamMode: [...MODES] }));
    const resumedRun = resumed[0].data.run_id;
    expect(resumedRun).not.toBe(runId);
    expect(streamedText(resumed)).toBe('You answered: red');
    expect(resumed.find((part) => part.event === 'updates')!.data).toEqual({ running: { messages: [expect.objectContaining({ type: 'ai', content: 'You answered: red' })] } });
    expect(resumed.at(-1)).toMatchObject({ event: 'end', data: { run_id: resumedRun, status: 'success' } });

    const state = await client.threads.getState(thread.thread_id);
    const messages = (state.values as any).messages;
    expect(messages.map((message: any) => [message.type, message.content])).toEqual([
      ['human', '/ask Which colour? | red | blue'],
      ['tool', 'red'],
      ['ai', 'You answered: red'],
    ]);
    expect(messages[1].tool_call_id).toBe(interrupt.id);
    expect(state).toMatchObject({ next: [], tasks: [] });
    expect((await client.threads.get(thread.thread_id)).status).toBe('idle');

    // One history entry per committed turn, newest first, each pointing at the one before.
    const history = await client.threads.getHistory(thread.thread_id);
    expect(history).toHaveLength(2);
    expect(history[0].checkpoint.checkpoint_id).toBe(state.checkpoint.checkpoint_id);
    expect(history[0].parent_checkpoint?.checkpoint_id).toBe(history[1].checkpoint.checkpoint_id);
    expect((history[1].values as any).messages).toHaveLength(1);
    expect(history[1].tasks[0].interrupts).toEqual([interrupt]);
    const earlier = await client.threads.getState(thread.thread_id, history[1].checkpoint.checkpoint_id!);
    expect(earlier.values).toEqual(history[1].values);
    // A select keeps what it names; `values.<key>` one key of the values.
    const now = await client.threads.getState(thread.thread_id);
    expect(await client.threads.getState(thread.thread_id, undefined, { select: ['values.messages', 'next'] })).toEqual({ values: { messages: (now.values as any).messages }, next: now.next });
    expect(await client.threads.getState(thread.thread_id, history[1].checkpoint.checkpoint_id!, { select: ['checkpoint'] })).toEqual({ checkpoint: history[1].checkpoint });
    expect(await client.threads.getState(thread.thread_id, history[1].checkpoint, { select: ['checkpoint'] })).toEqual({ checkpoint: history[1].checkpoint });
    expect(await client.threads.getHistory(thread.thread_id, { select: ['checkpoint'] })).toEqual(history.map(({ checkpoint }) => ({ checkpoint })));
    expect((await client.threads.getHistory(thread.thread_id, { limit: 1, before: { configurable: { checkpoint_id: history[0].checkpoint.checkpoint_id } } }))[0].checkpoint).toEqual(history[1].checkpoint);

    // The runs, newest first, with LangGraph's statuses.
    const runs = await client.runs.list(thread.thread_id);
    expect(runs.map((run) => [run.run_id, run.status])).toEqual([
      [resumedRun, 'success'],
      [runId, 'interrupted'],
    ]);
    expect((await failure(client.runs.list(thread.thread_id, { status: 'lost' as never }))).status).toBe(422);
    expect((await failure(client.threads.getHistory(thread.thread_id, { before: { configurable: { checkpoint_id: 'abc' } } }))).status).toBe(404);
    expect(await client.runs.list(thread.thread_id, { select: ['run_id', 'status'] })).toEqual(runs.map(({ run_id, status }) => ({ run_id, status })));
    expect(await client.runs.get(thread.thread_id, runId)).toMatchObject({ run_id: runId, thread_id: thread.thread_id, assistant_id: 'demo', status: 'interrupted' });
  });

  it('resumes by interrupt id, and with runs.wait answers the final values', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const asked: any = await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('/ask Your name?') });
    const [interrupt] = asked.__interrupt__;
    expect(interrupt.value).toEqual({ question: 'Your name?', options: [], allow_custom: true });
    // Any answer goes, but bounded as a message is, in either form; refused, it leaves the question open.
    for (const resume of ['r'.repeat(100_001), { [interrupt.id]: 'r'.repeat(100_001) }]) {
      expect((await failure(client.runs.create(thread.thread_id, 'demo', { command: { resume } }))).status).toBe(422);
    }
    expect((await client.threads.get(thread.thread_id)).status).toBe('interrupted');

    const done: any = await client.runs.wait(thread.thread_id, 'demo', { command: { resume: { [interrupt.id]: 'Ada' } } });
    expect(done.__interrupt__).toBeUndefined();
    expect(done.messages.at(-1)).toMatchObject({ type: 'ai', content: 'You answered: Ada' });
    // Nothing is pending any more.
    expect((await failure(client.runs.wait(thread.thread_id, 'demo', { command: { resume: 'again' } }))).status).toBe(409);
  });

  it('the same answer again, by interrupt id while its run is under way, follows that run instead of starting one', async () => {
    const { client } = await startLangGraph({ tokenDelayMs: 150 });
    const thread = await client.threads.create();
    await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('/ask Colour? | red | blue') });
    const { id } = (await client.threads.getState(thread.thread_id)).tasks[0].interrupts[0];
    const first = await client.runs.create(thread.thread_id, 'demo', { command: { resume: { [id!]: 'red' } } });
    // Without the id the answer is new input for a busy thread.
    expect((await failure(client.runs.create(thread.thread_id, 'demo', { command: { resume: 'red' } }))).status).toBe(409);
    const again = await collect(client.runs.stream(thread.thread_id, 'demo', { command: { resume: { [id!]: 'red' } }, streamMode: 'messages-tuple' }));
    expect(again[0].data.run_id).toBe(first.run_id);
    expect(streamedText(again)).toBe('You answered: red');
    expect((await client.runs.list(thread.thread_id)).map((run) => run.run_id)).toEqual([first.run_id, expect.any(String)]);
  });
});
