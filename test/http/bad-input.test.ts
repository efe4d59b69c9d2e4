/**
 * Malformed requests, one table: each gets its 4xx and the JSON error
 * envelope, the process keeps serving, and no session changes.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, type CallOptions, type Json, type TestServer, cleanup, createSession, expectError, getSession, sessionCount, startServer, waitForState } from './helpers.js';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const raw = (body: string, headers: Record<string, string> = JSON_TYPE): CallOptions => ({ raw: body, headers });

interface Case {
  name: string;
  method: string;
  /** Built from the ids of an idle session and of one awaiting an answer. */
  path: (ids: { idle: string; asking: string }) => string;
  request?: CallOptions;
  status: number;
  code: string;
  /** A word the error message must contain (the offending field). */
  mentions?: string;
}

const messages = ({ idle }: { idle: string }) => `${API}/sessions/${idle}/messages`;

const CASES: Case[] = [
  // Broken JSON
  { name: 'truncated JSON', method: 'POST', path: messages, request: raw('{"content": "hi"'), status: 400, code: 'invalid_request' },
  { name: 'JSON with trailing garbage', method: 'POST', path: messages, request: raw('{"content": "hi"} {}'), status: 400, code: 'invalid_request' },
  { name: 'single quotes', method: 'POST', path: messages, request: raw("{'content': 'hi'}"), status: 400, code: 'invalid_request' },
  { name: 'only whitespace', method: 'POST', path: messages, request: raw('   '), status: 400, code: 'invalid_request' },
  { name: 'broken JSON on create', method: 'POST', path: () => `${API}/sessions`, request: raw('{,}'), status: 400, code: 'invalid_request' },
  { name: 'corrupt gzip body', method: 'POST', path: messages, request: raw('{"content":"hi"}', { ...JSON_TYPE, 'Content-Encoding': 'gzip' }), status: 400, code: 'invalid_request' },
  // Bodies that are not objects
  { name: 'array body', method: 'POST', path: messages, request: raw('[{"content":"hi"}]'), status: 400, code: 'invalid_request' },
  { name: 'null body', method: 'POST', path: messages, request: raw('null'), status: 400, code: 'invalid_request' },
  { name: 'number body', method: 'POST', path: messages, request: raw('42'), status: 400, code: 'invalid_request' },
  { name: 'string body', method: 'POST', path: messages, request: raw('"hi"'), status: 400, code: 'invalid_request' },
  { name: 'null body on create', method: 'POST', path: () => `${API}/sessions`, request: raw('null'), status: 400, code: 'invalid_request' },
  { name: 'array body on create', method: 'POST', path: () => `${API}/sessions`, request: raw('[]'), status: 400, code: 'invalid_request' },
  { name: 'null body on resume', method: 'POST', path: ({ idle }) => `${API}/sessions/${idle}/resume`, request: raw('null'), status: 400, code: 'invalid_request' },
  { name: 'false body on resume', method: 'POST', path: ({ idle }) => `${API}/sessions/${idle}/resume`, request: raw('false'), status: 400, code: 'invalid_request' },
  { name: 'number body on cancel', method: 'POST', path: ({ idle }) => `${API}/sessions/${idle}/cancel`, request: raw('0'), status: 400, code: 'invalid_request' },
  { name: 'null body on respond', method: 'POST', path: ({ asking }) => `${API}/sessions/${asking}/respond`, request: raw('null'), status: 400, code: 'invalid_request' },
  // Wrong types
  { name: 'numeric content', method: 'POST', path: messages, request: { json: { content: 5 } }, status: 400, code: 'invalid_request', mentions: 'content' },
  { name: 'null content', method: 'POST', path: messages, request: { json: { content: null } }, status: 400, code: 'invalid_request', mentions: 'content' },
  { name: 'array content', method: 'POST', path: messages, request: { json: { content: ['hi'] } }, status: 400, code: 'invalid_request', mentions: 'content' },
  { name: 'string resume flag', method: 'POST', path: messages, request: { json: { content: 'hi', resume: 'false' } }, status: 400, code: 'invalid_request', mentions: 'resume' },
  { name: 'numeric title', method: 'POST', path: () => `${API}/sessions`, request: { json: { title: 1 } }, status: 400, code: 'invalid_request', mentions: 'title' },
  { name: 'metadata as an array', method: 'POST', path: () => `${API}/sessions`, request: { json: { metadata: [1, 2] } }, status: 400, code: 'invalid_request', mentions: 'metadata' },
  { name: 'metadata as a string', method: 'POST', path: () => `${API}/sessions`, request: { json: { metadata: 'x' } }, status: 400, code: 'invalid_request', mentions: 'metadata' },
  // A key JavaScript would drop when the object is copied, plainly or spelt with escapes, at any depth.
  { name: 'a __proto__ key in metadata', method: 'POST', path: () => `${API}/sessions`, request: raw('{"metadata":{"__proto__":{"x":1}}}'), status: 400, code: 'invalid_request', mentions: '__proto__' },
  { name: 'an escaped __proto__ key, nested', method: 'POST', path: () => `${API}/sessions`, request: raw('{"metadata":{"a":{"\\u005f_proto__":1}}}'), status: 400, code: 'invalid_request', mentions: '__proto__' },
  { name: 'numeric question_id', method: 'POST', path: ({ asking }) => `${API}/sessions/${asking}/respond`, request: { json: { question_id: 7, answer: 'red' } }, status: 400, code: 'invalid_request', mentions: 'question_id' },
  { name: 'boolean answer', method: 'POST', path: ({ asking }) => `${API}/sessions/${asking}/respond`, request: { json: { question_id: 'q_1', answer: true } }, status: 400, code: 'invalid_request', mentions: 'answer' },
  // Unknown and missing fields
  { name: 'unknown field on a message', method: 'POST', path: messages, request: { json: { content: 'hi', role: 'system' } }, status: 400, code: 'invalid_request', mentions: 'role' },
  { name: 'unknown field on create', method: 'POST', path: () => `${API}/sessions`, request: { json: { systemPrompt: 'x' } }, status: 400, code: 'invalid_request', mentions: 'systemPrompt' },
  { name: 'unknown field on resume', method: 'POST', path: ({ idle }) => `${API}/sessions/${idle}/resume`, request: { json: { force: true } }, status: 400, code: 'invalid_request', mentions: 'force' },
  { name: 'unknown field on cancel', method: 'POST', path: ({ idle }) => `${API}/sessions/${idle}/cancel`, request: { json: { reason: 'x' } }, status: 400, code: 'invalid_request', mentions: 'reason' },
  { name: 'unknown field on respond', method: 'POST', path: ({ asking }) => `${API}/sessions/${asking}/respond`, request: { json: { question_id: 'q_1', answer: 'red', note: 1 } }, status: 400, code: 'invalid_request', mentions: 'note' },
  { name: 'missing content', method: 'POST', path: messages, request: { json: {} }, status: 400, code: 'invalid_request', mentions: 'content: required, a string' },
  // A misnamed field is named, beside the one it stood for.
  { name: 'text for content', method: 'POST', path: messages, request: { json: { text: 'hi' } }, status: 400, code: 'invalid_request', mentions: 'unknown field text; body.content is required' },
  { name: 'question for question_id', method: 'POST', path: ({ asking }) => `${API}/sessions/${asking}/respond`, request: { json: { question: 'q_1', answer: 'red' } }, status: 400, code: 'invalid_request', mentions: 'unknown field question; body.question_id is required' },
  { name: 'no body on a message', method: 'POST', path: messages, status: 400, code: 'invalid_request', mentions: 'content' },
  { name: 'missing answer', method: 'POST', path: ({ asking }) => `${API}/sessions/${asking}/respond`, request: { json: { question_id: 'q_1' } }, status: 400, code: 'invalid_request', mentions: 'answer' },
  // Sizes
  { name: 'empty content', method: 'POST', path: messages, request: { json: { content: '' } }, status: 400, code: 'invalid_request', mentions: 'content' },
  { name: 'content of 100001 chars', method: 'POST', path: messages, request: { json: { content: 'x'.repeat(100_001) } }, status: 400, code: 'invalid_request', mentions: 'content' },
  { name: 'empty answer', method: 'POST', path: ({ asking }) => `${API}/sessions/${asking}/respond`, request: { json: { question_id: 'q_1', answer: '' } }, status: 400, code: 'invalid_request', mentions: 'answer' },
  { name: 'metadata over 16 KiB', method: 'POST', path: () => `${API}/sessions`, request: { json: { metadata: { notes: 'n'.repeat(16 * 1024) } } }, status: 400, code: 'invalid_request', mentions: 'metadata' },
  { name: 'body over 1 MiB', method: 'POST', path: messages, request: raw(JSON.stringify({ content: 'x'.repeat(1024 * 1024 + 1) })), status: 413, code: 'payload_too_large' },
  { name: 'body over 1 MiB on create', method: 'POST', path: () => `${API}/sessions`, request: raw(JSON.stringify({ metadata: { a: 'x'.repeat(2 * 1024 * 1024) } })), status: 413, code: 'payload_too_large' },
  { name: 'gzip bomb inflating over 1 MiB', method: 'POST', path: messages, request: { raw: new Blob([gzipSync(JSON.stringify({ content: 'x'.repeat(4 * 1024 * 1024) }))]), headers: { ...JSON_TYPE, 'Content-Encoding': 'gzip' } }, status: 413, code: 'payload_too_large' },
  // Content types
  { name: 'text/plain', method: 'POST', path: messages, request: raw('{"content":"hi"}', { 'Content-Type': 'text/plain' }), status: 415, code: 'unsupported_media_type' },
  { name: 'form encoded', method: 'POST', path: messages, request: raw('content=hi', { 'Content-Type': 'application/x-www-form-urlencoded' }), status: 415, code: 'unsupported_media_type' },
  { name: 'XML', method: 'POST', path: () => `${API}/sessions`, request: raw('<session/>', { 'Content-Type': 'application/xml' }), status: 415, code: 'unsupported_media_type' },
  { name: 'JSON in Latin-1', method: 'POST', path: messages, request: raw('{"content":"hi"}', { 'Content-Type': 'application/json; charset=latin1' }), status: 415, code: 'unsupported_media_type' },
  { name: 'JSON in UTF-16', method: 'POST', path: messages, request: { raw: new Blob([Buffer.from('{"content":"hi"}', 'utf16le')]), headers: { 'Content-Type': 'application/json; charset=utf-16le' } }, status: 415, code: 'unsupported_media_type', mentions: 'UTF-8' },
  { name: 'Latin-1 bytes sent as UTF-8', method: 'POST', path: messages, request: { raw: new Blob([Buffer.from('{"content":"naïve"}', 'latin1')]), headers: JSON_TYPE }, status: 415, code: 'unsupported_media_type' },
  { name: 'an overlong UTF-8 sequence', method: 'POST', path: () => `${API}/sessions`, request: { raw: new Blob([Buffer.from([...Buffer.from('{"title":"'), 0xc0, 0xaf, ...Buffer.from('"}')])]), headers: JSON_TYPE }, status: 415, code: 'unsupported_media_type' },
  { name: 'unknown content encoding', method: 'POST', path: messages, request: raw('{"content":"hi"}', { ...JSON_TYPE, 'Content-Encoding': 'zstd-nope' }), status: 415, code: 'unsupported_media_type' },
  { name: 'body without a Content-Type', method: 'POST', path: ({ idle }) => `${API}/sessions/${idle}/resume`, request: { raw: '{}' }, status: 415, code: 'unsupported_media_type' },
  // Queries
  { name: 'limit=0', method: 'GET', path: () => `${API}/sessions?limit=0`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'limit=201', method: 'GET', path: () => `${API}/sessions?limit=201`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'limit=abc', method: 'GET', path: () => `${API}/sessions?limit=abc`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'limit=-1', method: 'GET', path: () => `${API}/sessions?limit=-1`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'limit given twice', method: 'GET', path: () => `${API}/sessions?limit=1&limit=2`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'state=bogus', method: 'GET', path: () => `${API}/sessions?state=bogus`, status: 400, code: 'invalid_request', mentions: 'state' },
  { name: 'cursor=abc', method: 'GET', path: () => `${API}/sessions?cursor=abc`, status: 400, code: 'invalid_request', mentions: 'cursor' },
  { name: 'unknown query parameter', method: 'GET', path: () => `${API}/sessions?page=2`, status: 400, code: 'invalid_request', mentions: 'page' },
  { name: 'messages limit=0', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/messages?limit=0`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'messages limit=1001', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/messages?limit=1001`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'messages after=abc', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/messages?after=abc`, status: 400, code: 'invalid_request', mentions: 'after' },
  { name: 'events limit=1001', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/events?limit=1001`, status: 400, code: 'invalid_request', mentions: 'limit' },
  { name: 'events after=-1', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/events?after=-1`, status: 400, code: 'invalid_request', mentions: 'after' },
  { name: 'events after=1e3', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/events?after=1e3`, status: 400, code: 'invalid_request', mentions: 'after' },
  { name: 'stream after=abc', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/events?after=abc`, request: { headers: { Accept: 'text/event-stream' } }, status: 400, code: 'invalid_request', mentions: 'after' },
  { name: 'stream Last-Event-ID=-5', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/events`, request: { headers: { Accept: 'text/event-stream', 'Last-Event-ID': '-5' } }, status: 400, code: 'invalid_request', mentions: 'Last-Event-ID' },
  { name: 'stream Last-Event-ID=abc beside a good after', method: 'GET', path: ({ idle }) => `${API}/sessions/${idle}/events?after=0`, request: { headers: { Accept: 'text/event-stream', 'Last-Event-ID': 'abc' } }, status: 400, code: 'invalid_request', mentions: 'Last-Event-ID' },
  // Headers
  { name: 'Idempotency-Key of 256 chars', method: 'POST', path: messages, request: { json: { content: 'hi' }, headers: { 'Idempotency-Key': 'k'.repeat(256) } }, status: 400, code: 'invalid_request', mentions: 'Idempotency-Key' },
  // Bad ids in the path
  { name: 'malformed percent-encoding in the id', method: 'GET', path: () => `${API}/sessions/%ZZ`, status: 400, code: 'invalid_request', mentions: 'percent-encoding' },
  { name: 'truncated UTF-8 in the id', method: 'POST', path: () => `${API}/sessions/%E0%A4%A/messages`, request: { json: { content: 'hi' } }, status: 400, code: 'invalid_request' },
  { name: 'an id of 5000 chars', method: 'GET', path: () => `${API}/sessions/ses_${'x'.repeat(5000)}`, status: 404, code: 'session_not_found' },
  { name: 'an id with a slash', method: 'POST', path: ({ idle }) => `${API}/sessions/${idle}%2F..%2F${idle}/messages`, request: { json: { content: 'hi' } }, status: 404, code: 'session_not_found' },
  { name: "an id with quotes and SQL", method: 'POST', path: () => `${API}/sessions/${encodeURIComponent("x' OR '1'='1")}/messages`, request: { json: { content: 'hi' } }, status: 404, code: 'session_not_found' },
  { name: 'an emoji id', method: 'DELETE', path: () => `${API}/sessions/${encodeURIComponent('🐼')}`, status: 404, code: 'session_not_found' },
  { name: 'an empty id', method: 'GET', path: () => `${API}/sessions//messages`, status: 404, code: 'not_found' },
];

let server: TestServer;
let ids: { idle: string; asking: string };

beforeAll(async () => {
  server = await startServer();
  const idle = await createSession(server, { title: 'idle' });
  const asking = await createSession(server, { title: 'asking' });
  const asked = await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: '/ask Pick one | red | blue' } });
  expect(asked.status).toBe(202);
  await waitForState(server, asking.id, 'awaitingUser');
  ids = { idle: idle.id, asking: asking.id };
});

afterAll(cleanup);

/** What a bad request must leave alone: every field that moves when a session changes. */
async function footprint(): Promise<Json> {
  const pick = (session: Json) => ({
    state: session.state,
    version: session.version,
    last_event_seq: session.last_event_seq,
    message_count: session.message_count,
    has_pending_work: session.has_pending_work,
    updated_at: session.updated_at,
  });
  return { count: await sessionCount(server), idle: pick(await getSession(server, ids.idle)), asking: pick(await getSession(server, ids.asking)) };
}

describe('malformed requests', () => {
  it.each(CASES)('$name → $status $code', async ({ method, path, request, status, code, mentions }) => {
    const before = await footprint();
    const reply = await server.call(method, path(ids), request);
    expectError(reply, status, code);
    if (mentions) expect(reply.body.error.message).toContain(mentions);
    expect(reply.text).not.toMatch(/\n\s+at /);
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    expect(await footprint()).toEqual(before);
  });

  it('the same bodies, well-formed, are accepted (the table tests the defect, not the route)', async () => {
    const session = await createSession(server);
    const ok = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'x'.repeat(100_000), resume: false } });
    expect(ok.status, ok.text).toBe(201);
    const gz = await server.call('POST', `${API}/sessions/${session.id}/resume`, {
      raw: new Blob([gzipSync('{}')]),
      headers: { ...JSON_TYPE, 'Content-Encoding': 'gzip' },
    });
    expect([200, 202]).toContain(gz.status);
    const metadata = await server.call('POST', `${API}/sessions`, { json: { metadata: { notes: 'n'.repeat(16 * 1024 - 20) } } });
    expect(metadata.status, metadata.text).toBe(201);
    const utf8 = await server.call('POST', `${API}/sessions`, { raw: '{"title":"naïve"}', headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    expect(utf8.status, utf8.text).toBe(201);
    expect(utf8.body.session.title).toBe('naïve');
    const quoted = await server.call('POST', `${API}/sessions`, { raw: '{}', headers: { 'Content-Type': 'application/json; charset="UTF-8"' } });
    expect(quoted.status, quoted.text).toBe(201);
  });

  it('a Range past the end of a console file is ignored: the whole file, not an error about a body', async () => {
    const reply = await server.call('GET', '/console/app.js', { headers: { Range: 'bytes=999999-' } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('accept-ranges')).toBeNull();
  });

  it('the LangGraph API names a path that is not valid percent-encoding as such', async () => {
    const reply = await server.call('GET', '/langgraph/threads/%zz');
    expect([reply.status, reply.body.detail]).toEqual([400, 'path: not valid percent-encoding']);
  });
});
