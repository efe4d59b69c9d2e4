/**
 * Metadata filters of the search, count and history calls come from the
 * client: however deeply they nest, they are refused with 422 or matched,
 * never a 500, and the server goes on serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup } from '../http/helpers.js';
import { humanInput, type LangGraphServer, startLangGraph } from './helpers.js';

let lg: LangGraphServer;
let threadId: string;

beforeAll(async () => {
  lg = await startLangGraph();
  const thread = await lg.client.threads.create({ metadata: { user: 'ann', team: { name: 'blue' } } });
  threadId = thread.thread_id;
  await lg.client.runs.wait(threadId, 'demo', { input: humanInput('hello') });
});

afterAll(cleanup);

/** `{"KEY": [[[…]]]}`: arrays nested `depth` deep under one key, well within the 1 MiB body limit. */
const nested = (key: string, depth: number) => `{${JSON.stringify(key)}:${'['.repeat(depth)}${']'.repeat(depth)}}`;

async function post(path: string, body: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${lg.apiUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  return { status: response.status, body: await response.json() };
}

describe('metadata filters', () => {
  const routes = () => [
    ['/assistants/search', 'created_by'],
    ['/assistants/count', 'created_by'],
    ['/assistants/search', 'constructor'],
    ['/threads/search', 'user'],
    ['/threads/count', 'user'],
    ['/threads/search', 'toString'],
    [`/threads/${threadId}/history`, 'user'],
  ];

  it('nested too deep are refused with 422 naming the field, never a 500', async () => {
    for (const [path, key] of routes()) {
      for (const depth of [17, 200_000]) {
        const reply = await post(path!, `{"metadata":${nested(key!, depth)}}`);
        expect({ path, key, depth, status: reply.status }).toEqual({ path, key, depth, status: 422 });
        expect(reply.body.detail).toMatch(/^body\.metadata: must nest at most 16 levels deep/);
      }
    }
    expect((await fetch(`${lg.server.url}/healthz`)).status).toBe(200);
  });

  it('with a __proto__ key are refused with 422, not read as an empty filter that matches every thread', async () => {
    for (const [path] of routes()) {
      const reply = await post(path!, '{"metadata":{"__proto__":{"user":"ann"}}}');
      expect({ path, status: reply.status }).toEqual({ path, status: 422 });
      expect(reply.body.detail).toContain('__proto__');
    }
  });

  it('as deep as stored metadata can be still match', async () => {
    expect((await lg.client.threads.search({ metadata: { team: { name: 'blue' } } })).map((thread) => thread.thread_id)).toEqual([threadId]);
    expect(await lg.client.threads.count({ metadata: { user: 'ann' } })).toBe(1);
    expect(await lg.client.assistants.count({ metadata: { created_by: 'system' } })).toBe(1);
    expect((await lg.client.threads.getHistory(threadId, { metadata: { source: 'loop' } })).length).toBeGreaterThan(0);
  });
});
