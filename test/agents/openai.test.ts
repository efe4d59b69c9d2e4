/**
 * The openai agent through the real runtime, against a local chat-completions
 * server: streaming, tool calls, ask_user and cancel, and the transcript the
 * server receives on the next request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createToolRegistry, defineTool } from '../../src/agents/openai/index.js';
import type { AppendOutcome } from '../../src/domain/outcomes.js';
import type { Message } from '../../src/domain/types.js';
import {
  API_KEY,
  allEvents,
  allMessages,
  eventsOfRun,
  expectValidTranscript,
  nextEvent,
  startHarness,
  waitForRunEnd,
  type Harness,
} from './openai-helpers.js';
import { sse, textReply, toolCallsReply } from './openai-server.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

function startedRun(result: AppendOutcome<Message>): string {
  if (result.outcome !== 'Started') throw new Error('the message started no run');
  return result.run_id;
}

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => String(a + b),
});

describe('streaming', () => {
  it('passes text deltas on as tokens while the answer streams, stores the reply, sends the system prompt first', async () => {
    h = await startHarness({ temperature: 0.3, maxTokens: 99 });
    const session = await h.runtime.createSession({ agent: 'openai', system_prompt: 'You are terse.' });
    const firstToken = nextEvent(h.runtime, session.id, 'token');
    h.server.reply(
      sse(async (stream) => {
        stream.send({ role: 'assistant', content: '', refusal: null });
        stream.send({ content: 'Hel' });
        // The rest of the answer does not exist until the first delta is in the log.
        await firstToken;
        stream.send({ content: 'lo, ' });
        stream.send({ content: 'world' });
        stream.send({}, 'stop');
        stream.done();
      }),
    );
    const runId = startedRun(await h.runtime.appendMessage(session.id, 'Say hello'));

    const view = await waitForRunEnd(h.runtime, session.id);
    expect(view.state).toBe('completed');
    expect(view.last_run?.status).toBe('completed');
    const events = await allEvents(h.runtime, session.id);
    expect(eventsOfRun(events, runId, 'token').map((event) => (event.type === 'token' ? event.text : '')) ).toEqual(['Hel', 'lo, ', 'world']);
    const messages = await allMessages(h.runtime, session.id);
    expect(messages.map(({ role, content }) => ({ role, content }))).toEqual([
      { role: 'user', content: 'Say hello' },
      { role: 'assistant', content: 'Hello, world' },
    ]);

    expect(h.server.requests).toHaveLength(1);
    const [request] = h.server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.body).toMatchObject({ model: 'test-model', stream: true, temperature: 0.3, max_tokens: 99 });
    expect(request!.body.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello' },
    ]);
    expect(request!.body.tools.map((tool: any) => tool.function.name)).toEqual(['ask_user']);
  });

  it('sends no system message when the session has no system prompt, and no optional settings', async () => {
    h = await startHarness();
    const session = await h.runtime.createSession({ agent: 'openai' });
    h.server.reply(textReply(['ok']));
    await h.runtime.appendMessage(session.id, 'hi');
    await waitForRunEnd(h.runtime, session.id);
    const body = h.server.requests[0]!.body;
    expect(body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('max_tokens');
  });
});

describe('tools', () => {
  it('runs tool calls whose arguments arrive split and interleaved across chunks, stores the results, sends them back', async () => {
    const seen: { args: unknown; sessionId: string; runId: string; toolCallId: string }[] = [];
    const tracedAdd = defineTool({
      name: 'add',
      description: 'Adds two numbers',
      parameters: z.object({ a: z.number(), b: z.number() }),
      execute: (args, context) => {
        seen.push({ args, sessionId: context.session.id, runId: context.runId, toolCallId: context.toolCallId });
        return String(args.a + args.b);
      },
    });
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks a key up',
      parameters: z.object({ key: z.string() }),
      execute: async ({ key }) => ({ key, value: 42 }),
    });
    h = await startHarness({ tools: createToolRegistry([tracedAdd, lookup]) });
    const session = await h.runtime.createSession({ agent: 'openai', system_prompt: 'Use tools.' });
    h.server.reply(
      toolCallsReply(
        [
          { id: 'call_add', name: 'add', args: ['{"a":', '2,"b"', ':3}'] },
          { id: 'call_lookup', name: 'lookup', args: ['{"key"', ':"x"}'] },
        ],
        { interleave: true },
      ),
      textReply(['The sum ', 'is 5']),
    );
    const runId = startedRun(await h.runtime.appendMessage(session.id, 'What is 2+3?'));

    const view = await waitForRunEnd(h.runtime, session.id);
    expect(view.state).toBe('completed');
    expect(seen).toEqual([{ args: { a: 2, b: 3 }, sessionId: session.id, runId, toolCallId: 'call_add' }]);

    const toolCalls = [
      { id: 'call_add', name: 'add', arguments: '{"a":2,"b":3}' },
      { id: 'call_lookup', name: 'lookup', arguments: '{"key":"x"}' },
    ];
    const events = eventsOfRun(await allEvents(h.runtime, session.id), runId).filter((event) => event.type !== 'token');
    expect(events.map((event) => event.type)).toEqual([
      'run_started',
      'message_appended',
      'tool_started',
      'tool_completed',
      'message_appended',
      'tool_started',
      'tool_completed',
      'message_appended',
      'message_appended',
      'run_completed',
    ]);
    expect(events[2]).toMatchObject({ tool_call_id: 'call_add', name: 'add', arguments: '{"a":2,"b":3}' });
    expect(events[3]).toMatchObject({ tool_call_id: 'call_add', result: '5' });
    expect(events[6]).toMatchObject({ tool_call_id: 'call_lookup', result: '{"key":"x","value":42}' });

    const messages = await allMessages(h.runtime, session.id);
    expect(messages.map(({ role, content, tool_calls, tool_call_id }) => ({ role, content, tool_calls, tool_call_id }))).toEqual([
      { role: 'user', content: 'What is 2+3?', tool_calls: undefined, tool_call_id: undefined },
      { role: 'assistant', content: '', tool_calls: toolCalls, tool_call_id: undefined },
      { role: 'tool', content: '5', tool_calls: undefined, tool_call_id: 'call_add' },
      { role: 'tool', content: '{"key":"x","value":42}', tool_calls: undefined, tool_call_id: 'call_lookup' },
      { role: 'assistant', content: 'The sum is 5', tool_calls: undefined, tool_call_id: undefined },
    ]);

    const [first, second] = h.server.requests;
    expect(first!.body.tools).toEqual([
      expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'ask_user' }) }),
      {
        type: 'function',
        function: {
          name: 'add',
          description: 'Adds two numbers',
          parameters: expect.objectContaining({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] }),
        },
      },
      expect.objectContaining({ function: expect.objectContaining({ name: 'lookup' }) }),
    ]);
    expect(second!.body.messages).toEqual([
      { role: 'system', content: 'Use tools.' },
      { role: 'user', content: 'What is 2+3?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: toolCalls.map(({ id, name, arguments: args }) => ({ id, type: 'function', function: { name, arguments: args } })),
      },
      { role: 'tool', tool_call_id: 'call_add', content: '5' },
      { role: 'tool', tool_call_id: 'call_lookup', content: '{"key":"x","value":42}' },
    ]);
  });

  it('reports a tool that throws to the model as its result, and the run goes on', async () => {
    const broken = defineTool({
      name: 'broken',
      description: 'Always fails',
      parameters: z.object({}),
      execute: () => {
        throw new Error('disk on fire');
      },
    });
    h = await startHarness({ tools: [broken] });
    const session = await h.runtime.createSession({ agent: 'openai' });
    h.server.reply(toolCallsReply([{ id: 'call_1', name: 'broken', args: ['{}'] }]), textReply(['Sorry']));
    const runId = startedRun(await h.runtime.appendMessage(session.id, 'go'));
    expect((await waitForRunEnd(h.runtime, session.id)).state).toBe('completed');
    expect(eventsOfRun(await allEvents(h.runtime, session.id), runId, 'tool_completed')[0]).toMatchObject({ result: 'Error: disk on fire' });
    expect(h.server.requests[1]!.body.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call_1', content: 'Error: disk on fire' });
  });
});

describe('ask_user', () => {
  it('ends the run awaitingUser with the tool call id; the answer goes back as that call\'s result and the run completes', async () => {
    h = await startHarness();
    const session = await h.runtime.createSession({ agent: 'openai', system_prompt: 'Ask first.' });
    h.server.reply(toolCallsReply([{ id: 'call_ask', name: 'ask_user', args: ['{"question":"Which colour?",', '"options":["red","blue"]}'] }]));
    await h.runtime.appendMessage(session.id, 'Paint it');

    const waiting = await waitForRunEnd(h.runtime, session.id);
    expect(waiting.state).toBe('awaitingUser');
    expect(waiting.last_run?.status).toBe('awaiting_user');
    expect(waiting.pending_question).toMatchObject({ id: 'call_ask', text: 'Which colour?', options: ['red', 'blue'], allow_custom: false });
    expect((await allEvents(h.runtime, session.id)).filter((event) => event.type === 'tool_started')).toEqual([]);

    h.server.reply(textReply(['You chose ', 'blue']));
    const answered = await h.runtime.respond(session.id, 'call_ask', 'blue');
    expect(answered.outcome).toBe('Started');
    const done = await waitForRunEnd(h.runtime, session.id);
    expect(done.state).toBe('completed');
    expect((await allMessages(h.runtime, session.id)).at(-1)).toMatchObject({ role: 'assistant', content: 'You chose blue' });

    expect(h.server.requests).toHaveLength(2);
    const resumed = h.server.requests[1]!.body.messages;
    expect(resumed).toEqual([
      { role: 'system', content: 'Ask first.' },
      { role: 'user', content: 'Paint it' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_ask', type: 'function', function: { name: 'ask_user', arguments: '{"question":"Which colour?","options":["red","blue"]}' } }],
      },
      { role: 'tool', tool_call_id: 'call_ask', content: 'blue' },
    ]);
    for (const request of h.server.requests) expectValidTranscript(request.body.messages);
  });

  it('runs the other tools of the same turn first and answers a second question, so the resumed transcript is valid', async () => {
    let added = 0;
    const countingAdd = defineTool({
      name: 'add',
      description: 'Adds two numbers',
      parameters: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => {
        added++;
        return String(a + b);
      },
    });
    h = await startHarness({ tools: [countingAdd] });
    const session = await h.runtime.createSession({ agent: 'openai' });
    h.server.reply(
      toolCallsReply([
        { id: 'call_ask', name: 'ask_user', args: ['{"question":"Name?"}'] },
        { id: 'call_add', name: 'add', args: ['{"a":1,', '"b":1}'] },
        { id: 'call_ask2', name: 'ask_user', args: ['{"question":"Age?"}'] },
      ]),
    );
    await h.runtime.appendMessage(session.id, 'Hi');

    const waiting = await waitForRunEnd(h.runtime, session.id);
    expect(waiting.state).toBe('awaitingUser');
    expect(waiting.pending_question).toMatchObject({ id: 'call_ask', text: 'Name?', allow_custom: true });
    expect(added).toBe(1);
    const stored = await allMessages(h.runtime, session.id);
    expect(stored.filter((message) => message.role === 'tool').map((message) => message.tool_call_id)).toEqual(['call_add', 'call_ask2']);

    h.server.reply(textReply(['Hello Ada']));
    await h.runtime.respond(session.id, 'call_ask', 'Ada');
    expect((await waitForRunEnd(h.runtime, session.id)).state).toBe('completed');
    const resumed = h.server.requests[1]!.body.messages;
    expectValidTranscript(resumed);
    // Results follow in the order of the calls.
    expect(resumed.slice(-3)).toEqual([
      { role: 'tool', tool_call_id: 'call_ask', content: 'Ada' },
      { role: 'tool', tool_call_id: 'call_add', content: '2' },
      { role: 'tool', tool_call_id: 'call_ask2', content: expect.stringContaining('only one question') },
    ]);
  });
});
