/**
 * How the openai agent fails: every failure is a `run_failed` with a clear
 * message, the session stays usable (resume retries the turn), and the API
 * key appears nowhere.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createOpenAIAgent, defineTool } from '../../src/agents/openai/index.js';
import type { SessionRuntime } from '../../src/runtime/runtime.js';
import {
  API_KEY,
  allEvents,
  allMessages,
  expectNoKey,
  expectValidTranscript,
  nextEvent,
  startHarness,
  startRuntime,
  waitForRunEnd,
  type Harness,
} from './openai-helpers.js';
import { errorReply, refusedURL, sse, textReply, toolCallsReply } from './openai-server.js';

let h: Harness | undefined;
let extraRuntime: SessionRuntime | undefined;

afterEach(async () => {
  await h?.close();
  await extraRuntime?.shutdown();
  h = undefined;
  extraRuntime = undefined;
});

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => String(a + b),
});

/** Sends a first message (to a new session unless one is given) and waits for the run to fail; returns the run's error. */
async function failedRun(runtime: SessionRuntime, sessionId?: string): Promise<{ sessionId: string; error: string }> {
  const session = sessionId ? { id: sessionId } : await runtime.createSession({ agent: 'openai' });
  await runtime.appendMessage(session.id, 'Hello');
  const view = await waitForRunEnd(runtime, session.id);
  expect(view.state).toBe('idle');
  expect(view.last_run?.status).toBe('failed');
  expect(view.has_pending_work).toBe(true);
  const failures = (await allEvents(runtime, session.id)).filter((event) => event.type === 'run_failed');
  expect(failures).toHaveLength(1);
  expect(failures[0]!.error).toBe(view.last_run?.error);
  return { sessionId: session.id, error: view.last_run!.error! };
}

/** Resume retries the turn: with the server answering now, the run completes. */
async function expectResumeCompletes(harness: Harness, sessionId: string): Promise<void> {
  harness.server.reply(textReply(['Recovered']));
  expect((await harness.runtime.resume(sessionId)).outcome).toBe('Started');
  expect((await waitForRunEnd(harness.runtime, sessionId)).state).toBe('completed');
  expectValidTranscript(harness.server.requests.at(-1)!.body.messages);
}

describe('model server errors', () => {
  it('401: a clear message that repeats nothing of the key, not retried; resume works once the server accepts', async () => {
    h = await startHarness({ maxRetries: 2 });
    // OpenAI echoes a masked key in its 401 message.
    h.server.reply(errorReply(401, { message: `Incorrect API key provided: ${API_KEY.slice(0, 7)}***${API_KEY.slice(-4)}.`, code: 'invalid_api_key' }));
    const { sessionId, error } = await failedRun(h.runtime);
    expect(error).toBe('The model server rejected the API key (401)');
    expect(h.server.requests).toHaveLength(1);
    await expectNoKey(h.runtime, sessionId);
    await expectResumeCompletes(h, sessionId);
  });

  it('404 for an unknown model: names the model and the server, keeps the server\'s words', async () => {
    h = await startHarness({ model: 'nope-model' });
    h.server.reply(errorReply(404, { message: 'The model `nope-model` does not exist or you do not have access to it.', code: 'model_not_found' }));
    const { sessionId, error } = await failedRun(h.runtime);
    expect(error).toContain('404');
    expect(error).toContain('"nope-model"');
    expect(error).toContain(h.server.url);
    expect(error).toContain('does not exist');
    expect(h.server.requests[0]!.body.model).toBe('nope-model');
    await expectNoKey(h.runtime, sessionId);
  });

  it('500 then success: the SDK retries and the run completes', async () => {
    h = await startHarness({ maxRetries: 2 });
    h.server.reply(errorReply(500, { message: 'boom', type: 'server_error' }), textReply(['Fine ', 'now']));
    const session = await h.runtime.createSession({ agent: 'openai' });
    await h.runtime.appendMessage(session.id, 'Hello');
    const view = await waitForRunEnd(h.runtime, session.id);
    expect(view.state).toBe('completed');
    expect(h.server.requests).toHaveLength(2);
    expect(h.server.requests[1]!.body).toEqual(h.server.requests[0]!.body);
    expect((await allMessages(h.runtime, session.id)).at(-1)?.content).toBe('Fine now');
    expect((await allEvents(h.runtime, session.id)).some((event) => event.type === 'run_failed')).toBe(false);
  });

  it('500 on every try: fails after the retries, saying so', async () => {
    h = await startHarness({ maxRetries: 2 });
    const boom = errorReply(500, { message: 'boom', type: 'server_error' });
    h.server.reply(boom, boom, boom);
    const { sessionId, error } = await failedRun(h.runtime);
    expect(error).toBe('The model server failed with 500 after 2 retries: boom');
    expect(h.server.requests).toHaveLength(3);
    await expectResumeCompletes(h, sessionId);
  });

  it('connection refused: names the server and the cause', async () => {
    const url = await refusedURL();
    extraRuntime = await startRuntime(createOpenAIAgent({ baseURL: url, apiKey: API_KEY, model: 'test-model', maxRetries: 0 }));
    const { sessionId, error } = await failedRun(extraRuntime);
    expect(error).toBe(`Could not connect to the model server at ${url} (ECONNREFUSED)`);
    await expectNoKey(extraRuntime, sessionId);
  });

  it.each([
    {
      case: 'an error object inside the stream',
      end: (res: ServerResponse) => res.end(`data: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } })}\n\n`),
      error: 'The model server reported an error mid-answer: overloaded',
    },
    { case: 'a stream that ends without finish_reason', end: (res: ServerResponse) => res.end(), error: /without a finish_reason/ },
    { case: 'a connection that breaks mid-answer', end: (res: ServerResponse) => res.socket?.destroy(), error: /^The connection to the model server broke mid-answer/ },
    { case: 'a chunk that is not JSON', end: (res: ServerResponse) => res.end('data: {"choices": [\n\n'), error: 'The model server sent a stream chunk that is not JSON' },
  ])('$case fails the run', async ({ end, error }) => {
    h = await startHarness({ logLevel: 'off' });
    const session = await h.runtime.createSession({ agent: 'openai' });
    const streaming = nextEvent(h.runtime, session.id, 'token');
    h.server.reply(
      sse(async (stream) => {
        stream.send({ role: 'assistant', content: 'Half an ans' });
        // The answer is under way before it breaks.
        await streaming;
        end(stream.res);
      }),
    );
    const failed = await failedRun(h.runtime, session.id);
    if (typeof error === 'string') expect(failed.error).toBe(error);
    else expect(failed.error).toMatch(error);
    await expectResumeCompletes(h, failed.sessionId);
  });
});

describe('how an answer ends', () => {
  it('finish_reason "length" in plain text completes with the text so far', async () => {
    h = await startHarness({ maxTokens: 2 });
    h.server.reply(textReply(['Two ', 'words'], 'length'));
    const session = await h.runtime.createSession({ agent: 'openai' });
    await h.runtime.appendMessage(session.id, 'Tell me a story');
    expect((await waitForRunEnd(h.runtime, session.id)).state).toBe('completed');
    expect((await allMessages(h.runtime, session.id)).at(-1)?.content).toBe('Two words');
  });

  it('finish_reason "length" inside a tool call fails the run before the call is stored', async () => {
    h = await startHarness({ tools: [add], maxTokens: 5 });
    h.server.reply(toolCallsReply([{ id: 'call_cut', name: 'add', args: ['{"a":1,'] }], { finishReason: 'length' }));
    const failed = await failedRun(h.runtime);
    expect(failed.error).toBe('The answer reached the max tokens limit (BAMBOO_MAX_TOKENS) in the middle of a tool call');
    expect((await allMessages(h.runtime, failed.sessionId)).map((message) => message.role)).toEqual(['user']);
  });

  it('finish_reason "content_filter" fails the run', async () => {
    h = await startHarness();
    h.server.reply(textReply([], 'content_filter'));
    expect((await failedRun(h.runtime)).error).toBe("The model server's content filter stopped the answer");
  });
});

describe('malformed tool calls', () => {
  it.each([
    { case: 'arguments that are not JSON', name: 'add', args: ['{"a":1,', '"b":'], error: 'The model called tool "add" with arguments that are not valid JSON: "{\\"a\\":1,\\"b\\":"' },
    { case: 'arguments the schema refuses', name: 'add', args: ['{"a":"one",', '"b":2}'], error: /^The model called tool "add" with invalid arguments: a: / },
    { case: 'an unknown tool', name: 'delete_everything', args: ['{}'], error: 'The model called an unknown tool "delete_everything" (available: ask_user, add)' },
    { case: 'ask_user without a question', name: 'ask_user', args: ['{"options":["a"]}'], error: /^The model called tool "ask_user" with invalid arguments: question: / },
  ])('$case: the run fails, nothing runs, nothing dangling is stored', async ({ name, args, error }) => {
    let executed = 0;
    const countingAdd = defineTool({ ...add, parameters: z.object({ a: z.number(), b: z.number() }), execute: () => String(++executed) });
    h = await startHarness({ tools: [countingAdd] });
    h.server.reply(toolCallsReply([{ id: 'call_bad', name, args }]));
    const failed = await failedRun(h.runtime);
    if (typeof error === 'string') expect(failed.error).toBe(error);
    else expect(failed.error).toMatch(error);
    expect(executed).toBe(0);
    const events = await allEvents(h.runtime, failed.sessionId);
    expect(events.filter((event) => event.type === 'tool_started' || event.type === 'question_asked')).toEqual([]);
    expect((await allMessages(h.runtime, failed.sessionId)).map((message) => message.role)).toEqual(['user']);
    await expectResumeCompletes(h, failed.sessionId);
  });

  it('a run that keeps calling tools fails after maxToolRounds, with every stored call answered', async () => {
    h = await startHarness({ tools: [add], maxToolRounds: 1 });
    h.server.reply(
      toolCallsReply([{ id: 'call_1', name: 'add', args: ['{"a":1,"b":1}'] }]),
      toolCallsReply([{ id: 'call_2', name: 'add', args: ['{"a":2,"b":2}'] }]),
    );
    const failed = await failedRun(h.runtime);
    expect(failed.error).toBe('The model was still calling tools after 1 round (BAMBOO_MAX_TOOL_ROUNDS); resume to let it go on');
    expect(h.server.requests).toHaveLength(2);
    const stored = await allMessages(h.runtime, failed.sessionId);
    expect(stored.map((message) => message.tool_call_id ?? message.role)).toEqual(['user', 'assistant', 'call_1']);
    await expectResumeCompletes(h, failed.sessionId);
  });
});

describe('the API key', () => {
  it('never appears in what the SDK logs, even at debug level', async () => {
    const lines: string[] = [];
    const record = (...parts: unknown[]) => void lines.push(parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' '));
    h = await startHarness({ maxRetries: 1, logLevel: 'debug', logger: { debug: record, info: record, warn: record, error: record } });
    h.server.reply(errorReply(500, { message: 'boom' }), textReply(['ok']), errorReply(401, { message: 'bad key' }));
    const session = await h.runtime.createSession({ agent: 'openai' });
    await h.runtime.appendMessage(session.id, 'one');
    await waitForRunEnd(h.runtime, session.id);
    await h.runtime.appendMessage(session.id, 'two');
    await waitForRunEnd(h.runtime, session.id);
    expect(h.server.requests.map((request) => request.headers.authorization)).toEqual(Array(3).fill(`Bearer ${API_KEY}`));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(API_KEY);
    await expectNoKey(h.runtime, session.id);
  });
});
