/** Stream modes, the stream's first and last events, failures, and what is refused, through the SDK. */
import { MessageTupleManager, toMessageDict } from '@langchain/langgraph-sdk/ui';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createOpenAIAgent, createToolRegistry, defineTool } from '../../src/agents/openai/index.js';
import { API_KEY } from '../agents/openai-helpers.js';
import { type ModelServer, startModelServer, textReply, toolCallsReply } from '../agents/openai-server.js';
import { cleanup } from '../http/helpers.js';
import { collect, failure, fillThread, humanInput, type Part, startLangGraph, streamedText } from './helpers.js';

let model: ModelServer | undefined;

afterEach(async () => {
  await cleanup();
  await model?.close();
  model = undefined;
});

const events = (parts: readonly Part[]) => parts.map((part) => part.event);

describe('stream modes', () => {
  it('values by default: the input state first, then the state after the reply; metadata first and end last', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const parts = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('hello world') }));
    expect(events(parts)).toEqual(['metadata', 'values', 'values', 'end']);
    expect(parts[1].data.messages.map((message: any) => message.type)).toEqual(['human']);
    expect(parts[2].data.messages.map((message: any) => [message.type, message.content])).toEqual([
      ['human', 'hello world'],
      ['ai', 'Echo: hello world'],
    ]);
    expect(parts[3].data).toEqual({ run_id: parts[0].data.run_id, status: 'success' });
  });

  it('a second turn streams the whole transcript in values, and only the new message in updates', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('one') });
    const parts = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('two'), streamMode: ['values', 'updates'] }));
    expect(events(parts)).toEqual(['metadata', 'values', 'updates', 'values', 'end']);
    expect(parts[1].data.messages.map((message: any) => message.content)).toEqual(['one', 'Echo: one', 'two']);
    expect(parts[2].data.running.messages.map((message: any) => message.content)).toEqual(['Echo: two']);
    expect(parts[3].data.messages).toHaveLength(4);
  });

  it('values frames of a long thread hold its latest messages up to 4 MiB, as its state does, from the first frame to the last', async () => {
    const { client, server } = await startLangGraph({ tokenDelayMs: 0 });
    const thread = await client.threads.create();
    // 12 turns of about 200 KB each way in UTF-8 (4.8 MB of transcript): past the budget.
    await fillThread(server, thread.thread_id, 12, 'é'.repeat(99_000));
    const parts = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('last'), streamMode: 'values' }));
    expect(events(parts)).toEqual(['metadata', 'values', 'values', 'end']);
    const [first, last] = [parts[1].data.messages, parts[2].data.messages];
    for (const messages of [first, last]) {
      expect(Buffer.byteLength(JSON.stringify(messages))).toBeLessThanOrEqual(4 * 1024 * 1024);
      expect(messages.length).toBeGreaterThan(10);
      expect(messages.length).toBeLessThan(25);
    }
    expect(first.at(-1).content).toBe('last');
    expect(last.slice(-2).map((message: any) => message.content)).toEqual(['last', 'Echo: last']);
    // The same messages as the thread's state once the run is over.
    const state = await client.threads.getState<{ messages: { id: string }[] }>(thread.thread_id);
    expect(last.map((message: any) => message.id)).toEqual(state.values.messages.map((message) => message.id));
  }, 60_000);

  it('messages-tuple: the tokens as AI message chunks of one id, with metadata naming the node', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const parts = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('a b c d'), streamMode: 'messages-tuple' }));
    const chunks = parts.filter((part) => part.event === 'messages');
    expect(chunks.length).toBe(5);
    expect(streamedText(parts)).toBe('Echo: a b c d');
    expect(new Set(chunks.map((part) => part.data[0].id)).size).toBe(1);
    expect(chunks[0].data[0]).toMatchObject({ type: 'AIMessageChunk' });
    expect(chunks[0].data[1]).toMatchObject({ tags: [], langgraph_node: 'running', run_id: parts[0].data.run_id, thread_id: thread.thread_id });
    expect(events(parts).filter((event) => event !== 'messages')).toEqual(['metadata', 'end']);
    // Every part carries the log position it came from, increasing.
    const ids = chunks.map((part) => Number(part.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('messages-tuple: a streamed reply\'s tool calls close it as its last chunk, so the chunks alone build the whole message', async () => {
    model = await startModelServer();
    const add = defineTool({ name: 'add', description: 'Adds two numbers', parameters: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => String(a + b) });
    const openai = createOpenAIAgent({ baseURL: model.url, apiKey: API_KEY, model: 'test-model', maxRetries: 0, tools: createToolRegistry([add]) });
    const { client } = await startLangGraph({ agents: { openai } });
    model.reply(toolCallsReply([{ id: 'call_add', name: 'add', args: ['{"a":', '2,"b":3}'] }], { content: ['Let me ', 'add.'] }), textReply(['It is ', '5.']));
    const thread = await client.threads.create({ graphId: 'openai' });
    const parts = await collect(client.runs.stream(thread.thread_id, 'openai', { input: humanInput('2+3?'), streamMode: 'messages-tuple' }));

    // What a client such as useStream does with the frames: chunks of one id are joined (it rewrites what it is given).
    const manager = new MessageTupleManager();
    const ids: string[] = [];
    for (const part of parts.filter((part) => part.event === 'messages')) {
      const id = manager.add(structuredClone(part.data[0]), part.data[1]);
      if (id && !ids.includes(id)) ids.push(id);
    }
    const built = ids.map((id) => toMessageDict(manager.get(id)!.chunk!) as any);
    expect(built.map((message) => [message.type, message.content])).toEqual([
      ['ai', 'Let me add.'],
      ['tool', '5'],
      ['ai', 'It is 5.'],
    ]);
    expect(built[0].tool_calls).toEqual([{ id: 'call_add', name: 'add', args: { a: 2, b: 3 }, type: 'tool_call' }]);
    expect(built[1].tool_call_id).toBe('call_add');
    expect(built[2].tool_calls ?? []).toEqual([]);
    // The closing chunk as sent: the arguments' text, and the calls parsed as the stored message has them.
    const closing = parts.filter((part) => part.event === 'messages' && part.data[0].tool_call_chunks?.length > 0);
    expect(closing).toHaveLength(1);
    expect(closing[0]!.data[0]).toMatchObject({
      type: 'AIMessageChunk',
      content: '',
      tool_call_chunks: [{ type: 'tool_call_chunk', id: 'call_add', name: 'add', args: '{"a":2,"b":3}', index: 0 }],
      tool_calls: [{ id: 'call_add', name: 'add', args: { a: 2, b: 3 }, type: 'tool_call' }],
    });
  });

  it('custom is accepted and has nothing to send; modes Bamboo cannot produce are refused before any run starts', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const parts = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('x'), streamMode: ['custom'] }));
    expect(events(parts)).toEqual(['metadata', 'end']);
    for (const mode of ['events', 'debug', 'messages'] as const) {
      const refused = await failure(collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('y'), streamMode: [mode] })));
      expect(refused.status).toBe(422);
      expect(refused.detail).toContain(mode);
    }
    expect(await client.runs.list(thread.thread_id)).toHaveLength(1);
  });

  it('a failing run ends with an error event and status error; runs.wait throws it as the SDK does', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const parts = await collect(client.runs.stream(thread.thread_id, 'demo', { input: humanInput('/fail disk on fire') }));
    expect(parts.slice(-2)).toEqual([
      expect.objectContaining({ event: 'error', data: { error: 'RunFailed', message: 'disk on fire' } }),
      expect.objectContaining({ event: 'end', data: { run_id: parts[0].data.run_id, status: 'error' } }),
    ]);
    expect(await client.threads.get(thread.thread_id)).toMatchObject({ status: 'error', error: 'disk on fire' });
    expect((await client.threads.getState(thread.thread_id)).tasks[0]).toMatchObject({ error: 'disk on fire' });
    await expect(client.runs.wait(thread.thread_id, 'demo', {})).rejects.toThrow('RunFailed: disk on fire');
  });

  it('refuses what it cannot honour with 422, and starts nothing', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const refusals = [
      { input: humanInput('x'), interruptBefore: ['running'] },
      { input: humanInput('x'), webhook: 'http://127.0.0.1:1/hook' },
      { input: { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] } },
      { input: { messages: [{ type: 'system', content: 'be nice' }] } },
      { input: { topic: 'x' } },
      { command: { goto: 'running' } },
      { input: humanInput('x'), checkpointId: '0' },
      { input: humanInput('x'), streamSubgraphs: true },
    ];
    for (const payload of refusals) expect((await failure(client.runs.create(thread.thread_id, 'demo', payload))).status, JSON.stringify(payload)).toBe(422);
    expect(await client.runs.list(thread.thread_id)).toEqual([]);
    // Nothing to resume on a fresh thread.
    expect((await failure(client.runs.create(thread.thread_id, 'demo', {}))).status).toBe(409);
    // Text blocks and LangChain's message shape are input like a string.
    const run = await client.runs.wait(thread.thread_id, 'demo', { input: { messages: [{ type: 'human', content: [{ type: 'text', text: 'blocks' }] }] } });
    expect((run as any).messages.at(-1).content).toBe('Echo: blocks');
  });
});
