/** A runtime with the openai agent against a local model server, and checks on what that server received. */
import { expect, vi } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { createOpenAIAgent, type OpenAIAgentOptions } from '../../src/agents/openai/index.js';
import type { Message, SessionView } from '../../src/domain/types.js';
import { runIdOf, type SessionEvent } from '../../src/domain/events.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { startModelServer, type ModelServer } from './openai-server.js';

export const API_KEY = 'sk-test-very-secret-key-0123456789';

export interface Harness {
  runtime: SessionRuntime;
  server: ModelServer;
  close(): Promise<void>;
}

/** A model server and a runtime whose only agent is `openai`, pointed at it. */
export async function startHarness(options: Partial<OpenAIAgentOptions> = {}): Promise<Harness> {
  const server = await startModelServer();
  const agent = createOpenAIAgent({ baseURL: server.url, apiKey: API_KEY, model: 'test-model', maxRetries: 0, ...options });
  const runtime = await startRuntime(agent);
  return {
    runtime,
    server,
    close: async () => {
      await runtime.shutdown();
      await server.close();
    },
  };
}

export async function startRuntime(agent: Agent): Promise<SessionRuntime> {
  const runtime = createRuntime({ store: new SqliteStore(':memory:'), agents: new Map([['openai', agent]]), defaultAgent: 'openai' });
  await runtime.start();
  return runtime;
}

/** Waits until the session's latest run has ended (any way but still running). */
export async function waitForRunEnd(runtime: SessionRuntime, id: string, timeout = 5_000): Promise<SessionView> {
  return vi.waitFor(
    async () => {
      const view = await runtime.getSession(id);
      if (view.state === 'running' || view.last_run?.status === 'running') throw new Error(`session ${id} is still running`);
      return view;
    },
    { timeout, interval: 5 },
  );
}

/** Resolves with the first live event of `type` the session appends. */
export async function nextEvent(runtime: SessionRuntime, id: string, type: string): Promise<SessionEvent> {
  let unsubscribe = () => {};
  const next = new Promise<SessionEvent>((resolve) => {
    void runtime
      .subscribe(id, {
        deliver: ({ event }) => {
          if (event.type !== type) return;
          unsubscribe();
          resolve(event);
        },
        end: () => undefined,
      })
      .then((subscription) => (unsubscribe = subscription.unsubscribe));
  });
  return next;
}

export async function allEvents(runtime: SessionRuntime, id: string): Promise<SessionEvent[]> {
  return (await runtime.readEvents(id, 0, 1000)).events;
}

export async function allMessages(runtime: SessionRuntime, id: string): Promise<Message[]> {
  return (await runtime.readMessages(id, { limit: 1000 })).messages;
}

export function eventsOfRun(events: SessionEvent[], runId: string, type?: string): SessionEvent[] {
  return events.filter((event) => runIdOf(event) === runId && (type === undefined || event.type === type));
}

/**
 * The rule the model server enforces: every assistant `tool_calls` entry is
 * answered by a `tool` message with its id, right after it, before any other
 * message; no `tool` message answers anything else.
 */
export function expectValidTranscript(messages: any[]): void {
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (message.role === 'tool') throw new Error(`tool message ${i} (${message.tool_call_id}) answers no open tool call`);
    if (message.role !== 'assistant' || !message.tool_calls?.length) continue;
    const open = new Set<string>(message.tool_calls.map((call: any) => call.id));
    expect(open.size, `assistant ${i} repeats a tool call id`).toBe(message.tool_calls.length);
    while (messages[i + 1]?.role === 'tool') {
      const result = messages[++i];
      expect(open.has(result.tool_call_id), `tool message ${i} answers ${result.tool_call_id}, not an open call`).toBe(true);
      open.delete(result.tool_call_id);
    }
    expect([...open], `tool calls of assistant message without results`).toEqual([]);
  }
}

/** Nothing the runtime stored or logged mentions the key. */
export async function expectNoKey(runtime: SessionRuntime, id: string): Promise<void> {
  const stored = JSON.stringify([await allEvents(runtime, id), await allMessages(runtime, id), await runtime.getSession(id)]);
  expect(stored).not.toContain(API_KEY);
  expect(stored).not.toContain(API_KEY.slice(0, 8));
}
