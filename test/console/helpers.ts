/**
 * Helpers for the console's browser tests: a server with Chromium beside it,
 * an agent the test steps by hand, a TCP proxy whose connections the test can
 * cut, and one atomic reading of everything the page shows about the
 * selected session's state.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect, vi } from 'vitest';
import type { Agent, RunContext, RunResult } from '../../src/agents/agent.js';
import { createServer, type BambooServer } from '../../src/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
// In CI the browser tests must run (a missing Chromium fails them); elsewhere they may skip, saying why.
export const skipBrowser = !existsSync(CHROMIUM) && process.env.CI !== 'true';
if (skipBrowser) console.warn(`console browser tests skipped: no Chromium at ${CHROMIUM} (install the Debian package "chromium", or set CHROMIUM_PATH)`);

export const OUT = 'test-results';

/** A server (demo, `gated` and `openai` agents) and a Chromium profile to drive its console. */
export interface ConsoleRig {
  server: BambooServer;
  context: BrowserContext;
  gated: GatedAgent;
  open(path: string): Promise<Page>;
  close(): Promise<void>;
}

export async function startRig(): Promise<ConsoleRig> {
  const gated = new GatedAgent();
  const server = await createServer({
    dbPath: ':memory:', port: 0, host: '127.0.0.1', tokenDelayMs: 5, agents: { gated: gated.agent, openai: echoAgent },
  });
  const profile = mkdtempSync(join(tmpdir(), 'bamboo-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 820 },
  });
  mkdirSync(OUT, { recursive: true });
  return {
    server,
    context,
    gated,
    async open(path) {
      const page = await context.newPage();
      await page.goto(`${server.url}${path}`);
      return page;
    },
    async close() {
      await context.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A run held until the test settles it. */
export interface HeldRun {
  ctx: RunContext;
  settle(result: RunResult): void;
  fail(error: Error): void;
}

/**
 * An agent whose every run waits for the test: the console's state can be
 * checked while a run is going on without racing it. Cancelling aborts the run.
 */
export class GatedAgent {
  private held: HeldRun[] = [];

  readonly agent: Agent = {
    run: (ctx) =>
      new Promise<RunResult>((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        this.held.push({ ctx, settle: resolve, fail: reject });
      }),
  };

  /** The oldest held run, once there is one. */
  async next(): Promise<HeldRun> {
    await vi.waitFor(() => expect(this.held.length).toBeGreaterThan(0), { timeout: 10_000 });
    return this.held.shift()!;
  }
}

/** Echoes the last message at once; registered under the name `openai` to stand for any non-demo agent. */
export const echoAgent: Agent = {
  async run({ messages }) {
    return { kind: 'completed', message: `echo: ${messages.at(-1)?.content ?? ''}` };
  },
};

/**
 * A TCP proxy in front of the server. `cut()` destroys every connection,
 * as a network drop would: the browser sees its event stream fail mid-way.
 */
export interface Proxy {
  url: string;
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createTcpServer((client) => {
    const upstream = connect(Number(port), hostname);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What the page shows about the selected session, read in one synchronous pass. */
export interface Shown {
  list: string | null;
  header: string;
  /** The diagram container's `data-state`. */
  diagram: string;
  /** The node that carries the highlight in the inline SVG, and the fill it is drawn with. */
  drawn: string;
  drawnFill: string | null;
  resume: boolean;
  cancel: boolean;
  answer: boolean;
  compose: boolean;
}

/** Runs in the page: no closures over test variables. */
function readShown(): Shown {
  const id = new URLSearchParams(location.search).get('session') ?? '';
  const byId = (name: string) => document.getElementById(name)!;
  const diagram = byId('diagram');
  const current = diagram.querySelector('g.state.current');
  return {
    list: document.querySelector(`#session-list li[data-id="${CSS.escape(id)}"] .badge`)?.textContent ?? null,
    header: byId('session-state').textContent ?? '',
    diagram: diagram.dataset.state ?? '',
    drawn: current ? current.id.replace(/^state_/, '') : '',
    drawnFill: current ? getComputedStyle(current.querySelector('path')!).fill : null,
    resume: byId('resume-button').checkVisibility(),
    cancel: byId('cancel-button').checkVisibility(),
    answer: byId('question').checkVisibility(),
    compose: byId('composer-text').checkVisibility() && !(byId('send-button') as HTMLButtonElement).disabled,
  };
}

export function shown(page: Page): Promise<Shown> {
  return page.evaluate(readShown);
}

/** From now on, records what the page shows right after each render of the selected session. */
export async function recordRenders(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const read = ${readShown.toString()};
    window.__renders = [];
    document.addEventListener('bamboo:render', () => window.__renders.push(read()));
  })()`);
}

export function renders(page: Page): Promise<Shown[]> {
  return page.evaluate('window.__renders') as Promise<Shown[]>;
}

const HIGHLIGHT = 'rgb(253, 230, 138)';

/** Every place agrees on one state, and every action shown can act in it. */
export function expectConsistent(s: Shown, where: string): void {
  expect({ list: s.list, diagram: s.diagram, drawn: s.drawn }, where).toEqual({ list: s.header, diagram: s.header, drawn: s.header });
  expect(s.drawnFill, where).toBe(HIGHLIGHT);
  expect(s.cancel, `${where}: Cancel`).toBe(s.header === 'running');
  expect(s.compose, `${where}: composer`).toBe(s.header === 'idle' || s.header === 'completed');
  if (s.answer) expect(s.header, `${where}: answer UI`).toBe('awaitingUser');
  if (s.resume) expect(s.header, `${where}: Resume`).toBe('idle');
}

/** Waits until the header shows `state`, then checks everything the page shows against it. */
export async function expectStep(page: Page, state: string, where: string, expected: Partial<Shown>): Promise<void> {
  await expect.poll(() => shown(page).then((s) => s.header), { timeout: 10_000 }).toBe(state);
  const now = await shown(page);
  expectConsistent(now, where);
  expect(now, where).toMatchObject(expected);
}

/** Fails the test on any script error or failed request of the page; an event stream aborted by leaving is normal. */
export function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => {
    if (request.url().includes('/events') && request.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  return problems;
}

export async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

export async function createSession(base: string, body: { title?: string; agent?: string }): Promise<string> {
  return (await api<{ session: { id: string } }>(base, 'POST', '/sessions', body)).session.id;
}

export async function sessionState(base: string, id: string): Promise<string> {
  return (await api<{ session: { state: string } }>(base, 'GET', `/sessions/${id}`)).session.state;
}

/** Every event `seq` of a session, tokens included, oldest first. */
export async function eventSeqs(base: string, id: string): Promise<{ seq: number; type: string; to?: string }[]> {
  return (await api<{ events: { seq: number; type: string; to?: string }[] }>(base, 'GET', `/sessions/${id}/events?after=0&limit=1000`)).events;
}
