/**
 * The OpenAPI document at /api/v1/openapi.json (docs/API.md is its guide):
 * it lists every route of the app and nothing else, it is generated from the
 * zod schemas, and real responses, errors and streamed events match it.
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { packageVersion } from '../../src/cli/version.js';
import { EVENT_TYPES } from '../../src/domain/events.js';
import { buildDocument, type OpenApiDocument } from '../../src/http/openapi/document.js';
import { event } from '../../src/http/openapi/events.js';
import { componentSchemas } from '../../src/http/openapi/schemas.js';
import { createBamboo } from '../../src/server.js';
import { API, cleanup, createSession, type Json, startServer, tempDb, waitForSession, waitForState } from './helpers.js';
import { driveFrontDoor, driveLimits } from './openapi-access.js';
import { problems, ResponseCheck } from './openapi-check.js';
import { driveErrors, driveStorageFailures, driveTurn, driveWebhooks } from './openapi-flows.js';
import { EventLog } from './sse-client.js';

afterEach(cleanup);

/** The web console's page: HTML for people, not part of the API. */
const NOT_API = ['GET /'];
/** The LangGraph-compatible API: LangGraph's contract, described in docs/langgraph.md, not this document. */
const LANGGRAPH = /^[A-Z]+ \/langgraph\//;

/** What router 2's `listRoutes()` gives for each route, or mounted router, of a router. */
interface Listed {
  path: string | RegExp;
  methods?: string[];
  router?: Lister;
}
interface Lister {
  listRoutes(): Listed[];
}

/** `GET /api/v1/sessions/{id}` for every method and path the router serves (`.all()` and the automatic HEAD aside). */
function routesOf(router: Lister, prefix = ''): string[] {
  return router.listRoutes().flatMap(({ path, methods, router: mounted }) => {
    const full = path === '/' ? prefix || '/' : `${prefix}${String(path)}`;
    if (mounted) return routesOf(mounted, full === '/' ? '' : full);
    return (methods ?? []).filter((method) => method !== '*' && method !== 'HEAD').map((method) => `${method} ${full.replace(/:(\w+)/g, '{$1}')}`);
  });
}

function documented(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}

/** Every `$ref` in the document, so each can be checked to resolve. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' && typeof inner === 'string' ? [inner] : refs(inner)));
}

function resolve(document: Json, ref: string): unknown {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node, part) => node?.[part], document);
}

async function served(server: Awaited<ReturnType<typeof startServer>>): Promise<OpenApiDocument> {
  const reply = await server.call('GET', `${API}/openapi.json`);
  expect(reply.status).toBe(200);
  return reply.body;
}

describe('the OpenAPI document', () => {
  it('lists every route of the app, and nothing the app does not serve', async () => {
    const server = await startServer();
    const document = await served(server);
    const routes = routesOf(server.server.app.router as unknown as Lister);
    // The exclusions must stay true, or they would hide a route.
    for (const route of NOT_API) expect(routes).toContain(route);
    expect(routes).toContain('POST /langgraph/threads/{id}/runs/stream');
    expect(routes.filter((route) => !NOT_API.includes(route) && !LANGGRAPH.test(route)).sort()).toEqual(documented(document).sort());
  });

  it('is built from the zod schemas, and every reference resolves', async () => {
    const server = await startServer();
    const document = await served(server);
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.schemas).toEqual(componentSchemas());
    expect(document).toEqual({ ...buildDocument(packageVersion()), servers: [{ url: '/' }] });
    for (const ref of new Set(refs(document))) expect(resolve(document, ref), ref).toBeDefined();
  });

  it('names the mount point as its server when the app is mounted elsewhere', async () => {
    const bamboo = await createBamboo({ dbPath: tempDb(), tokenDelayMs: 0 });
    const parent = express();
    parent.use('/bamboo', bamboo.app);
    const http = createHttpServer(parent);
    await new Promise<void>((ready) => http.listen(0, '127.0.0.1', ready));
    try {
      const { port } = http.address() as AddressInfo;
      const document = await (await fetch(`http://127.0.0.1:${port}/bamboo/api/v1/openapi.json`)).json();
      expect(document.servers).toEqual([{ url: '/bamboo' }]);
    } finally {
      await new Promise((closed) => http.close(closed));
      await bamboo.close();
    }
  });
});

describe('real responses', () => {
  it('match the document: a human-in-the-loop turn, every error, the front door and the limits, storage failing, webhook deliveries', async () => {
    const server = await startServer();
    const check = new ResponseCheck(await served(server));
    await driveTurn(check, server);
    await driveErrors(check, server);
    await driveFrontDoor(check);
    await driveLimits(check);
    await driveStorageFailures(check);
    await driveWebhooks(check);
    expect(check.untested()).toEqual([]);
  });
});

/** Reports a tool call and its result, then replies: the events the demo agent never sends. */
const toolAgent: Agent = {
  async run({ emit }) {
    await emit({ type: 'tool_started', tool_call_id: 'call_1', name: 'get_time', arguments: '{}' });
    await emit({ type: 'message_appended', message: { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', name: 'get_time', arguments: '{}' }] } });
    await emit({ type: 'tool_completed', tool_call_id: 'call_1', result: '12:00' });
    await emit({ type: 'message_appended', message: { role: 'tool', content: '12:00', tool_call_id: 'call_1' } });
    return { kind: 'completed', message: 'It is noon.' };
  },
};

describe('streamed events', () => {
  it('every event type arrives over SSE and validates against the event union', async () => {
    const db = tempDb();
    let server = await startServer({ dbPath: db, agents: { tools: toolAgent } });
    const asking = await createSession(server);
    const tooling = await createSession(server, { agent: 'tools' });
    const cutOff = await createSession(server);
    const streams = [asking, tooling].map((session) => new EventLog(`${server.url}${API}/sessions/${session.id}/events?after=0`));
    await Promise.all(streams.map((stream) => stream.waitForOpen()));

    // A question, its answer and the reply; a failed run; a cancelled run; then the session is deleted.
    await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: '/ask Pick a colour | red | blue' } });
    const waiting = await waitForState(server, asking.id, 'awaitingUser');
    await server.call('POST', `${API}/sessions/${asking.id}/respond`, { json: { question_id: waiting.pending_question.id, answer: 'red' } });
    await waitForState(server, asking.id, 'completed');
    await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: '/fail on purpose' } });
    await waitForSession(server, asking.id, (session) => session.last_run?.status === 'failed');
    await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: '/sleep 10000' } });
    expect((await server.call('POST', `${API}/sessions/${asking.id}/cancel`)).status).toBe(200);
    // Messages while busy: two queued, one taken back; an interrupt; a rollback of the question it asked; then the queue moves.
    await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: '/sleep 10000', multitask_strategy: 'interrupt' } });
    await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: 'later', multitask_strategy: 'enqueue' } });
    const second = await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: 'not after all', multitask_strategy: 'enqueue' } });
    expect((await server.call('DELETE', `${API}/sessions/${asking.id}/queue/${second.body.message.id}`)).status).toBe(204);
    await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: '/ask Which? | a | b', multitask_strategy: 'interrupt' } });
    await waitForState(server, asking.id, 'awaitingUser');
    await server.call('POST', `${API}/sessions/${asking.id}/messages`, { json: { content: 'never mind', multitask_strategy: 'rollback' } });
    await waitForSession(server, asking.id, (session) => session.state === 'completed' && session.queued.length === 0);
    await server.call('POST', `${API}/sessions/${tooling.id}/messages`, { json: { content: 'what time is it?' } });
    await streams[1].waitFor((received) => received.some((frame) => frame.type === 'run_completed'));
    await server.call('DELETE', `${API}/sessions/${asking.id}`);
    await streams[0].waitFor((received) => received.some((frame) => frame.type === 'session_deleted'));

    // A run cut off by a shutdown is recorded as interrupted; a stream after the restart replays it.
    await server.call('POST', `${API}/sessions/${cutOff.id}/messages`, { json: { content: '/sleep 10000' } });
    await waitForState(server, cutOff.id, 'running');
    await server.close();
    server = await startServer({ dbPath: db });
    const replay = new EventLog(`${server.url}${API}/sessions/${cutOff.id}/events?after=0`);
    await replay.waitFor((received) => received.some((frame) => frame.type === 'run_interrupted'));

    const received = [...streams, replay].flatMap((stream) => stream.received);
    for (const stream of [...streams, replay]) stream.close();
    for (const frame of received) {
      expect(problems(event, frame.data), JSON.stringify(frame.data)).toEqual([]);
      expect([frame.type, frame.id]).toEqual([frame.data.type, String(frame.data.seq)]);
    }
    expect(new Set(received.map((frame) => frame.type))).toEqual(new Set(EVENT_TYPES));
  });
});
