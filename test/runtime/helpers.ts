/** Shared set-up for the runtime suites: a runtime over SQLite, and checks on a session's event log. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { createDemoAgent } from '../../src/agents/demo.js';
import type { Message, SessionState, SessionView } from '../../src/domain/types.js';
import { runIdOf, type SessionEvent } from '../../src/domain/events.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';

export interface TestRuntimeOptions {
  store?: Store;
  /** Extra agents beside `demo`. */
  agents?: Record<string, Agent>;
  maxLiveActors?: number;
  tokenDelayMs?: number;
}

export function testRuntime(options: TestRuntimeOptions = {}): { runtime: SessionRuntime; store: Store } {
  const store = options.store ?? new SqliteStore(':memory:');
  const agents = new Map<string, Agent>([['demo', createDemoAgent({ tokenDelayMs: options.tokenDelayMs ?? 0 })]]);
  for (const [name, agent] of Object.entries(options.agents ?? {})) agents.set(name, agent);
  const runtime = createRuntime({ store, agents, defaultAgent: 'demo', maxLiveActors: options.maxLiveActors });
  return { runtime, store };
}

/** A fresh folder for file databases, removed by `cleanup`. */
export function tempDir(): { dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-test-'));
  return { dir, file: join(dir, 'bamboo.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitForState(runtime: SessionRuntime, id: string, state: SessionState, timeout = 5_000): Promise<SessionView> {
  return vi.waitFor(
    async () => {
      const view = await runtime.getSession(id);
      if (view.state !== state) throw new Error(`session ${id} is ${view.state}, not ${state}`);
      return view;
    },
    { timeout, interval: 5 },
  );
}

export async function allEvents(runtime: SessionRuntime, id: string): Promise<SessionEvent[]> {
  const events: SessionEvent[] = [];
  for (let after = 0; ; ) {
    const page = await runtime.readEvents(id, after, 1000);
    if (page.events.length === 0) return events;
    events.push(...page.events);
    after = page.next_after;
  }
}

export async function allMessages(runtime: SessionRuntime, id: string): Promise<Message[]> {
  const messages: Message[] = [];
  let cursor: string | undefined;
  do {
    const page = await runtime.readMessages(id, { limit: 1000, cursor });
    messages.push(...page.messages);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return messages;
}

export const TERMINAL_EVENTS = ['run_completed', 'question_asked', 'run_failed', 'run_cancelled', 'run_interrupted'];

/**
 * The log's invariants from docs/API.md: seq 1..n with no gap, every event of the
 * session, every run opened by `run_started` and closed by exactly one terminal
 * event, runs not interleaved, and a completed run's tokens adding up to its
 * stored reply. Returns the runs in order.
 */
export function checkLog(events: SessionEvent[], sessionId: string): { runId: string; events: SessionEvent[] }[] {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.every((event) => event.session_id === sessionId)).toBe(true);
  expect(events[0]?.type).toBe('session_created');

  const runs: { runId: string; events: SessionEvent[] }[] = [];
  let open: { runId: string; events: SessionEvent[] } | null = null;
  for (const event of events) {
    if (event.type === 'run_started') {
      expect(open, `run ${event.run_id} starts while ${open?.runId} is open`).toBeNull();
      expect(event.run_id).toMatch(/^run_/);
      open = { runId: event.run_id, events: [event] };
      runs.push(open);
      continue;
    }
    const runId = runIdOf(event);
    if (runId === undefined) continue;
    expect(open?.runId, `${event.type} (seq ${event.seq}) belongs to no open run`).toBe(runId);
    open!.events.push(event);
    if (TERMINAL_EVENTS.includes(event.type)) open = null;
  }
  expect(open, `run ${open?.runId} never ended`).toBeNull();

  for (const run of runs) {
    const terminals = run.events.filter((event) => TERMINAL_EVENTS.includes(event.type));
    expect(terminals, `run ${run.runId}`).toHaveLength(1);
    expect(run.events.at(-1)).toBe(terminals[0]);
    if (terminals[0]!.type === 'run_completed') {
      const tokens = run.events.filter((event) => event.type === 'token').map((event) => event.text as string);
      const replies = run.events.filter((event) => event.type === 'message_appended').map((event) => event.message as Message);
      const reply = replies.at(-1)!;
      expect(reply.role).toBe('assistant');
      expect(tokens.join('')).toBe(reply.content);
    }
  }
  return runs;
}

/** Collects unhandled rejections while a test runs; call the returned function to stop and read them. */
export function trackUnhandledRejections(): () => unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  return () => {
    process.off('unhandledRejection', listener);
    return seen;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One turn of the event loop: passivation beyond the cap happens then, never while a caller is being handed its actor. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
