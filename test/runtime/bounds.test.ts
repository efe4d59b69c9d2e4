/**
 * What bounds growth inside the runtime: live actors capped by their estimated
 * bytes, runs that read a window of the transcript, and retention.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent, RunContext } from '../../src/agents/agent.js';
import { createDemoAgent } from '../../src/agents/demo.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { nextTurn, tempDir, waitForState } from './helpers.js';

let runtime: SessionRuntime | undefined;
const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  for (const dir of dirs.splice(0)) dir.cleanup();
});

function start(options: Partial<Parameters<typeof createRuntime>[0]> & { agents?: Map<string, Agent> } = {}): SessionRuntime {
  runtime = createRuntime({
    store: new SqliteStore(':memory:'),
    agents: options.agents ?? new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]),
    defaultAgent: 'demo',
    ...options,
  });
  return runtime;
}

describe('memory-aware passivation', () => {
  it('counts what live actors hold, not only how many: sessions with 100 KB prompts are passivated sooner', async () => {
    const rt = start({ maxLiveActors: 10_000, maxLiveBytes: 1024 * 1024 });
    await rt.start();
    const prompt = 'p'.repeat(100 * 1024);
    for (let i = 0; i < 40; i++) {
      await rt.createSession({ system_prompt: prompt });
      await nextTurn();
    }
    const { liveActors, liveBytes } = rt.stats();
    expect(liveActors).toBeLessThanOrEqual(10);
    expect(liveBytes).toBeLessThanOrEqual(1024 * 1024);
    // Small sessions fit by the hundred under the same cap.
    for (let i = 0; i < 60; i++) await rt.createSession();
    await nextTurn();
    expect(rt.stats().liveActors).toBeGreaterThan(50);
  });
});

describe('the transcript window', () => {
  it('a run reads only the latest messages its agent asks for', async () => {
    const seen: number[] = [];
    const windowed: Agent = {
      transcriptWindow: 5,
      async run(ctx: RunContext) {
        seen.push(ctx.messages.length);
        return { kind: 'completed', message: `saw ${ctx.messages.map((m) => m.content).join(',')}` };
      },
    };
    const rt = start({ agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })], ['windowed', windowed]]) });
    await rt.start();
    const session = await rt.createSession({ agent: 'windowed' });
    for (let i = 1; i <= 12; i++) await rt.appendMessage(session.id, `m${i}`, { resume: false });
    await rt.resume(session.id);
    const done = await waitForState(rt, session.id, 'completed');
    expect(seen).toEqual([5]);
    const reply = await rt.readMessages(session.id, { limit: 100 });
    expect(reply.messages.at(-1)?.content).toBe('saw m8,m9,m10,m11,m12');
    expect(done.message_count).toBe(13);
  });

  it('a window that is not a whole number of at least one gets the default, never nothing or everything', async () => {
    const seen: number[] = [];
    const agents = new Map<string, Agent>([['demo', createDemoAgent({ tokenDelayMs: 0 })]]);
    for (const [name, transcriptWindow] of [['zero', 0], ['negative', -1], ['fraction', 2.5]] as const) {
      agents.set(name, {
        transcriptWindow,
        async run(ctx: RunContext) {
          seen.push(ctx.messages.length);
          return { kind: 'completed', message: 'ok' };
        },
      });
    }
    const rt = start({ agents });
    await rt.start();
    for (const agent of ['zero', 'negative', 'fraction']) {
      const session = await rt.createSession({ agent });
      for (let i = 1; i <= 3; i++) await rt.appendMessage(session.id, `m${i}`, { resume: false });
      await rt.resume(session.id);
      await waitForState(rt, session.id, 'completed');
    }
    expect(seen).toEqual([3, 3, 3]);
  });

  it('a reader gets the latest messages within a byte budget, of its own tenant\'s sessions only', async () => {
    const rt = start();
    await rt.start();
    const session = await rt.createSession();
    for (const text of ['one', 'two', 'three']) await rt.appendMessage(session.id, text, { resume: false });
    const { messages } = await rt.readMessages(session.id, { limit: 100 });
    const lastTwo = messages.slice(-2).reduce((sum, message) => sum + Buffer.byteLength(JSON.stringify(message)), 0);
    expect(await rt.readRecentMessages(session.id, 100, lastTwo)).toEqual(messages.slice(-2));
    expect(await rt.readRecentMessages(session.id, 100)).toEqual(messages);
    await expect(rt.forTenant('other').readRecentMessages(session.id, 100, lastTwo)).rejects.toMatchObject({ code: 'session_not_found' });
  });
});

describe('retention', () => {
  it('deletes sessions idle for longer than the retention, with their logs, and keeps recent ones (running ones are kept by the store contract)', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const seed = createRuntime({ store: new SqliteStore(dir.file), agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo' });
    await seed.start();
    const old = await seed.createSession({ title: 'old' });
    await seed.appendMessage(old.id, 'hello');
    await waitForState(seed, old.id, 'completed');
    const interrupted = await seed.createSession({ title: 'old, interrupted' });
    await seed.appendMessage(interrupted.id, '/sleep 60000');
    const recent = await seed.createSession({ title: 'recent' });
    await seed.shutdown();

    // Age the first two by ten days, as if they had been left alone since.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(dir.file);
    const tenDaysAgo = new Date(Date.now() - 10 * 24 * 60 * 60 * 1000).toISOString();
    db.prepare('UPDATE sessions SET updated_at = ? WHERE id IN (?, ?)').run(tenDaysAgo, old.id, interrupted.id);
    db.close();

    const rt = start({ store: new SqliteStore(dir.file), retentionDays: 7 });
    await rt.start();
    await expect.poll(async () => (await rt.listSessions({ limit: 10 })).sessions.map((s) => s.title)).toEqual(['recent']);
    expect(recent.id).toBeDefined();
    expect((await rt.readEvents(old.id, 0, 10).catch((error: { code?: string }) => error.code))).toBe('session_not_found');
    expect(rt.stats().counts).toEqual({ idle: 1, running: 0, awaitingUser: 0, completed: 0 });
  });

  it('deletes a few megabytes a call on SQLite, so one sweep never holds the process for long; the sweep goes on until none is left', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const seed = createRuntime({ store: new SqliteStore(dir.file), agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo' });
    await seed.start();
    for (let i = 0; i < 3; i++) await seed.createSession({ title: `big ${i}` });
    await seed.shutdown();
    // As if each held 10 MB of events: the batch is sized by the sessions' recorded bytes.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(dir.file);
    db.prepare("UPDATE sessions SET updated_at = '2020-01-01T00:00:00.000Z', bytes = ?").run(10 * 1024 * 1024);
    db.close();

    const store = new SqliteStore(dir.file);
    try {
      const batches = [];
      for (let ids = await store.deleteSessionsIdleSince('2021-01-01T00:00:00.000Z', 500); ids.length > 0; ids = await store.deleteSessionsIdleSince('2021-01-01T00:00:00.000Z', 500)) {
        batches.push(ids.length);
      }
      expect(batches).toEqual([1, 1, 1]);
      expect(await store.countByState()).toEqual({ idle: 0, running: 0, awaitingUser: 0, completed: 0 });
    } finally {
      await store.close();
    }
  });
});
