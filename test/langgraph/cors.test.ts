/** A browser app on a listed origin reads what the SDK reads from a response's headers. */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from '../http/helpers.js';
import { startLangGraph } from './helpers.js';

afterEach(cleanup);

const APP = 'https://app.example.com';

describe('the LangGraph API from a listed browser origin', () => {
  it('exposes where a run lives (Content-Location) and the next page of a search (X-Pagination-Next)', async () => {
    const { server, client } = await startLangGraph({ access: { corsOrigins: [APP] } });
    const thread = await client.threads.create();
    const run = await server.call('POST', `/langgraph/threads/${thread.thread_id}/runs`, {
      json: { assistant_id: 'demo', input: { messages: [{ role: 'user', content: 'hi' }] } },
      headers: { Origin: APP },
    });
    expect(run.status, run.text).toBe(200);
    expect(run.headers.get('content-location')).toMatch(new RegExp(`^/threads/${thread.thread_id}/runs/`));
    const exposed = (response: { headers: Headers }) => (response.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    expect(exposed(run)).toContain('Content-Location');
    const search = await server.call('POST', '/langgraph/assistants/search', { json: { limit: 1 }, headers: { Origin: APP } });
    expect(search.status).toBe(200);
    expect(exposed(search)).toEqual(expect.arrayContaining(['X-Pagination-Next', 'ETag']));
  });
});
