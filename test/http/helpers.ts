/** Shared set-up for the HTTP suites: real servers on 127.0.0.1, a small JSON client, waits. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { createServer, type BambooServer, type ServerOptions } from '../../src/server.js';

/** Response bodies are asserted field by field; their shape is what the tests check. */
export type Json = any;

export interface Reply {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or null for an empty one. */
  body: Json;
  text: string;
}

export interface CallOptions {
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown;
  /** Sent as is (a Blob for binary bodies); set the Content-Type yourself. */
  raw?: string | Blob;
  headers?: Record<string, string>;
}

/** A running server with a JSON client bound to its base URL. */
export interface TestServer {
  server: BambooServer;
  /** `http://127.0.0.1:PORT` */
  url: string;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
}

const started = new Set<BambooServer>();
const dirs: string[] = [];

/** A fresh SQLite file in its own temp folder; the folder is removed by `cleanup`. */
export function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-'));
  dirs.push(dir);
  return join(dir, 'bamboo.db');
}

/** Starts a server on a free port of 127.0.0.1 (fresh temp database unless one is given), tokens unpaced. */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    tokenDelayMs: 0,
    ...options,
    dbPath: options.store ? undefined : (options.dbPath ?? tempDb()),
  });
  started.add(server);
  return {
    server,
    url: server.url,
    call: (method, path, callOptions) => call(server.url, method, path, callOptions),
    close: async () => {
      started.delete(server);
      await server.close();
    },
  };
}

/** Closes every server still open and removes the temp folders. For afterEach/afterAll. */
export async function cleanup(): Promise<void> {
  const servers = [...started];
  started.clear();
  await Promise.all(servers.map((server) => server.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Blob | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] ??= 'application/json';
  } else if (options.raw !== undefined) {
    body = options.raw;
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('application/json');
  return { status: response.status, headers: response.headers, body: text && isJson ? JSON.parse(text) : null, text };
}

/** Asserts the JSON error envelope of docs/API.md: the status, the code, a message, and the extras. */
export function expectError(reply: Reply, status: number, code: string, extra: Record<string, unknown> = {}): void {
  expect({ status: reply.status, code: reply.body?.error?.code }, reply.text.slice(0, 300)).toEqual({ status, code });
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(typeof reply.body.error.message).toBe('string');
  expect(reply.body.error.message.length).toBeGreaterThan(0);
  expect(reply.body.error).toMatchObject(extra);
}

export const API = '/api/v1';

export async function createSession(server: TestServer, body: Record<string, unknown> = {}): Promise<Json> {
  const reply = await server.call('POST', `${API}/sessions`, { json: body });
  expect(reply.status, reply.text).toBe(201);
  return reply.body.session;
}

export async function getSession(server: TestServer, id: string): Promise<Json> {
  const reply = await server.call('GET', `${API}/sessions/${id}`);
  expect(reply.status, reply.text).toBe(200);
  return reply.body.session;
}

/** Polls GET session until `accept` holds; returns that session. */
export async function waitForSession(server: TestServer, id: string, accept: (session: Json) => boolean, timeout = 10_000): Promise<Json> {
  return vi.waitFor(
    async () => {
      const session = await getSession(server, id);
      if (!accept(session)) throw new Error(`session ${id} is still ${session.state} (last_run ${session.last_run?.status})`);
      return session;
    },
    { timeout, interval: 10 },
  );
}

export async function waitForState(server: TestServer, id: string, state: string, timeout?: number): Promise<Json> {
  return waitForSession(server, id, (session) => session.state === state, timeout);
}

/** Every event of the session's log, through the JSON pages. */
export async function allEvents(server: TestServer, id: string): Promise<Json[]> {
  const events: Json[] = [];
  for (let after = 0; ; ) {
    const reply = await server.call('GET', `${API}/sessions/${id}/events?after=${after}&limit=1000`);
    expect(reply.status, reply.text).toBe(200);
    if (reply.body.events.length === 0) return events;
    events.push(...reply.body.events);
    after = reply.body.next_after;
  }
}

/** Every message of the session, through the pages. */
export async function allMessages(server: TestServer, id: string): Promise<Json[]> {
  const messages: Json[] = [];
  let cursor: string | null = null;
  do {
    const reply: Reply = await server.call('GET', `${API}/sessions/${id}/messages?limit=1000${cursor ? `&after=${cursor}` : ''}`);
    expect(reply.status, reply.text).toBe(200);
    messages.push(...reply.body.messages);
    cursor = reply.body.next_cursor;
  } while (cursor);
  return messages;
}

/** The number of stored sessions, counted through the list pages. */
export async function sessionCount(server: TestServer): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const reply: Reply = await server.call('GET', `${API}/sessions?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    expect(reply.status, reply.text).toBe(200);
    count += reply.body.sessions.length;
    cursor = reply.body.next_cursor;
  } while (cursor);
  return count;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
