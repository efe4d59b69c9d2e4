/** A run's input as LangChain's clients write it, through the SDK. */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from '../http/helpers.js';
import { failure, startLangGraph } from './helpers.js';

afterEach(cleanup);

/** What `JSON.stringify(new HumanMessage(content))` sends: LangChain's serialized constructor. */
const serialized = (className: string, content: unknown) => ({
  lc: 1,
  type: 'constructor',
  id: ['langchain_core', 'messages', className],
  kwargs: { content, additional_kwargs: {}, response_metadata: {} },
});

describe('input messages', () => {
  it('a HumanMessage as LangChain serializes it, and a [type, content] tuple, are human input like a dict', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const inputs = [
      { messages: [serialized('HumanMessage', 'from a class')] },
      { messages: [serialized('HumanMessageChunk', [{ type: 'text', text: 'from a chunk' }])] },
      { messages: [['human', 'from a tuple']] },
      { messages: [['user', 'from a user tuple']] },
    ];
    for (const input of inputs) {
      const values: any = await client.runs.wait(thread.thread_id, 'demo', { input });
      expect(values.messages.at(-2)).toMatchObject({ type: 'human' });
    }
    const state = await client.threads.getState<{ messages: { type: string; content: string }[] }>(thread.thread_id);
    expect(state.values.messages.filter((message) => message.type === 'ai').map((message) => message.content)).toEqual([
      'Echo: from a class',
      'Echo: from a chunk',
      'Echo: from a tuple',
      'Echo: from a user tuple',
    ]);
  });

  it('other messages in those forms are refused with 422, naming their type, and start nothing', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const system = await failure(client.runs.create(thread.thread_id, 'demo', { input: { messages: [serialized('SystemMessage', 'be nice')] } }));
    expect(system.status).toBe(422);
    expect(system.detail).toContain('SystemMessage');
    const ai = await failure(client.runs.create(thread.thread_id, 'demo', { input: { messages: [['ai', 'hello']] } }));
    expect(ai.status).toBe(422);
    expect(ai.detail).toContain('"ai"');
    expect((await failure(client.runs.create(thread.thread_id, 'demo', { input: { messages: [['human']] } }))).status).toBe(422);
    expect(await client.runs.list(thread.thread_id)).toEqual([]);
  });
});
