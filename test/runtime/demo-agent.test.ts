/** The demo agent's behaviour, fixed by docs/API.md: echo word by word, /ask, /sleep, /fail. */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunContext, RunEvent, RunResult } from '../../src/agents/agent.js';
import { createDemoAgent } from '../../src/agents/demo.js';
import type { Message } from '../../src/domain/types.js';
import type { SessionRuntime } from '../../src/runtime/runtime.js';
import { allEvents, allMessages, checkLog, testRuntime, waitForState } from './helpers.js';

function transcript(...turns: [Message['role'], string][]): Message[] {
  return turns.map(([role, content], i) => ({ id: `msg_${i}`, role, content, created_at: new Date(0).toISOString() }));
}

async function runDemo(messages: Message[], options: { tokenDelayMs?: number; signal?: AbortSignal } = {}) {
  const emitted: RunEvent[] = [];
  const ctx: RunContext = {
    session: { id: 'ses_demo', tenant: 'default', title: null, agent: 'demo', system_prompt: null, metadata: {}, created_at: new Date(0).toISOString() },
    runId: 'run_demo',
    messages,
    signal: options.signal ?? new AbortController().signal,
    emit: async (event) => void emitted.push(event),
  };
  const result: RunResult = await createDemoAgent({ tokenDelayMs: options.tokenDelayMs ?? 0 }).run(ctx);
  const tokens = emitted.filter((event) => event.type === 'token').map((event) => (event.type === 'token' ? event.text : ''));
  return { result, emitted, tokens };
}

describe('the demo agent', () => {
  it('echoes the message, one token per word with the whitespace after it', async () => {
    const { result, tokens, emitted } = await runDemo(transcript(['user', 'hello world']));
    expect(tokens).toEqual(['Echo: ', 'hello ', 'world']);
    expect(result).toEqual({ kind: 'completed', message: 'Echo: hello world' });
    expect(emitted.every((event) => event.type === 'token')).toBe(true);
  });

  it('keeps odd whitespace inside the tokens, so they add up to the reply', async () => {
    const text = 'tabs\tand  two spaces\nnew line ';
    const { result, tokens } = await runDemo(transcript(['user', text]));
    expect(tokens).toEqual(['Echo: ', 'tabs\t', 'and  ', 'two ', 'spaces\n', 'new ', 'line ']);
    expect(result).toEqual({ kind: 'completed', message: `Echo: ${text}` });
    expect(tokens.join('')).toBe(`Echo: ${text}`);
  });

  it('answers the latest user message', async () => {
    const { result } = await runDemo(transcript(['user', 'first'], ['assistant', 'Echo: first'], ['user', 'second']));
    expect(result).toEqual({ kind: 'completed', message: 'Echo: second' });
  });

  it('/ask QUESTION | A | B asks with those options and no custom answer', async () => {
    const { result, emitted } = await runDemo(transcript(['user', '/ask Pick a colour | red | dark blue ']));
    expect(result).toEqual({ kind: 'awaitingUser', question: { text: 'Pick a colour', options: ['red', 'dark blue'], allow_custom: false } });
    expect(emitted).toEqual([]);
  });

  it('/ask QUESTION without options allows a custom answer', async () => {
    const { result } = await runDemo(transcript(['user', '/ask What is your name?']));
    expect(result).toEqual({ kind: 'awaitingUser', question: { text: 'What is your name?', allow_custom: true } });
  });

  it('after an answer, replies "You answered: ANSWER"', async () => {
    const messages = transcript(['user', '/ask Pick | red | blue'], ['tool', 'red']);
    const { result, tokens } = await runDemo(messages);
    expect(result).toEqual({ kind: 'completed', message: 'You answered: red' });
    expect(tokens.join('')).toBe('You answered: red');
  });

  it('/sleep MS waits, then replies "Slept MS ms"', async () => {
    const started = Date.now();
    const { result, tokens } = await runDemo(transcript(['user', '/sleep 60']));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(result).toEqual({ kind: 'completed', message: 'Slept 60 ms' });
    expect(tokens).toEqual(['Slept ', '60 ', 'ms']);
  });

  it('/sleep is aborted at once by the signal', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('cancelled')), 20);
    await expect(runDemo(transcript(['user', '/sleep 10000']), { signal: controller.signal })).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('/sleep longer than one timer can wait (2^31 ms) still waits, until cancelled, and warns of nothing', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      for (const ms of ['2147483648', '99999999999999999999', '1e309']) {
        const controller = new AbortController();
        const run = runDemo(transcript(['user', `/sleep ${ms}`]), { signal: controller.signal });
        const early = await Promise.race([run.then(() => 'replied', () => 'failed'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 100))]);
        controller.abort(new Error('cancelled'));
        expect({ ms, early }).toEqual({ ms, early: 'waiting' });
        await expect(run).rejects.toThrow('cancelled');
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((warning) => warning.name)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('/fail TEXT fails with TEXT', async () => {
    await expect(runDemo(transcript(['user', '/fail the tool broke']))).rejects.toThrow(new Error('the tool broke'));
  });

  it('paces tokens by tokenDelayMs', async () => {
    const started = Date.now();
    const { tokens } = await runDemo(transcript(['user', 'a b c d']), { tokenDelayMs: 20 });
    expect(tokens).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
  });
});

describe('the demo agent through the runtime', () => {
  let runtime: SessionRuntime;
  afterEach(async () => {
    await runtime?.shutdown();
  });

  it('echo: tokens in the log, the reply stored', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, 'hello world');
    await waitForState(runtime, session.id, 'completed');
    const events = await allEvents(runtime, session.id);
    expect(events.filter((event) => event.type === 'token').map((event) => event.text)).toEqual(['Echo: ', 'hello ', 'world']);
    expect((await allMessages(runtime, session.id)).map((m) => [m.role, m.content])).toEqual([
      ['user', 'hello world'],
      ['assistant', 'Echo: hello world'],
    ]);
    checkLog(events, session.id);
  });

  it('/ask with options: only an option is accepted, then "You answered"', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/ask Pick one | red | blue');
    const asked = await waitForState(runtime, session.id, 'awaitingUser');
    const question = asked.pending_question!;
    expect(question).toMatchObject({ text: 'Pick one', options: ['red', 'blue'], allow_custom: false });
    expect(question.id).toMatch(/^q_/);

    await expect(runtime.respond(session.id, question.id, 'green')).rejects.toMatchObject({ code: 'invalid_answer' });
    await expect(runtime.respond(session.id, 'q_other', 'red')).rejects.toMatchObject({ code: 'question_mismatch' });
    await expect(runtime.appendMessage(session.id, 'hi')).rejects.toMatchObject({ code: 'question_pending', details: { question_id: question.id } });

    const answered = await runtime.respond(session.id, question.id, 'red');
    expect(answered).toMatchObject({ replayed: false, outcome: 'Started', run_id: expect.stringMatching(/^run_/) });
    await waitForState(runtime, session.id, 'completed');
    expect(await runtime.respond(session.id, question.id, 'red')).toEqual({ replayed: true, outcome: 'Completed' });
    await expect(runtime.respond(session.id, question.id, 'blue')).rejects.toMatchObject({ code: 'question_mismatch' });

    const messages = await allMessages(runtime, session.id);
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ['user', '/ask Pick one | red | blue'],
      ['tool', 'red'],
      ['assistant', 'You answered: red'],
    ]);
    expect(messages[1]!.tool_call_id).toBe(question.id);
    const events = await allEvents(runtime, session.id);
    expect(events.find((event) => event.type === 'question_asked')).toMatchObject({ question });
    expect(events.find((event) => event.type === 'question_answered')).toMatchObject({ question_id: question.id, answer: 'red' });
    checkLog(events, session.id);
  });

  it('/ask without options takes any answer', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/ask Your name?');
    const asked = await waitForState(runtime, session.id, 'awaitingUser');
    expect(asked.pending_question).toMatchObject({ text: 'Your name?', allow_custom: true });
    expect(asked.pending_question!.options).toBeUndefined();
    await runtime.respond(session.id, asked.pending_question!.id, 'Ada Lovelace');
    await waitForState(runtime, session.id, 'completed');
    expect((await allMessages(runtime, session.id)).at(-1)?.content).toBe('You answered: Ada Lovelace');
  });

  it('a repeated answer while the next run is active is AlreadyRunning with that run', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/ask Go? | yes | no');
    const asked = await waitForState(runtime, session.id, 'awaitingUser');
    const question = asked.pending_question!;
    // Two identical answers at once: the first is accepted and starts a run, the second is a replay naming that run.
    const [first, second] = await Promise.all([runtime.respond(session.id, question.id, 'yes'), runtime.respond(session.id, question.id, 'yes')]);
    expect(first).toMatchObject({ replayed: false, outcome: 'Started' });
    expect(second).toEqual({ replayed: true, outcome: 'AlreadyRunning', run_id: first.outcome === 'Started' ? first.run_id : '' });
    await waitForState(runtime, session.id, 'completed');
  });
});
