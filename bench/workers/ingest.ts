/**
 * Scenario 4, in-process: durable `token` ingest. `sessions` runs of the bench
 * agent emit `tokensPerRun` tokens each, concurrently, through SessionRuntime
 * on a SQLite file; the clock stops when every run's `run_completed` is
 * durable; the stored token events are then read back through the runtime
 * (the store holds its file exclusively, so no second connection may count
 * them). The floor inserts the same rows with a bare prepared statement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createRuntime, type SessionRuntime } from '../../dist/src/runtime/runtime.js';
import { SqliteStore } from '../../dist/src/storage/sqlite/sqlite-store.js';
import { BENCH_AGENT, createBenchAgent, tokensCommand } from '../lib/bench-agent.js';
import { within } from '../lib/deadline.js';
import { serve } from '../lib/serve.js';
import { wallClockMs } from '../lib/stats.js';

export interface IngestInput {
  sessions: number;
  tokensPerRun: number;
  mode: 'await' | 'burst';
}

export interface IngestResult {
  stored: number;
  elapsedMs: number;
}

export interface FloorInput {
  rows: number;
  /** Rows per transaction. */
  batch: number;
}

let dir: string | undefined;
let runtime: SessionRuntime | undefined;

function tempDb(): string {
  dir ??= mkdtempSync(join(tmpdir(), 'bamboo-bench-'));
  return join(dir, `ingest-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);
}

async function openRuntime(): Promise<SessionRuntime> {
  if (runtime) return runtime;
  const path = tempDb();
  runtime = createRuntime({ store: new SqliteStore(path), agents: new Map([[BENCH_AGENT, createBenchAgent()]]), defaultAgent: BENCH_AGENT });
  await runtime.start();
  return runtime;
}

const PAGE = 5000;

/** The `token` events stored for the sessions `ids`, read back page by page. */
async function storedTokens(rt: SessionRuntime, ids: readonly string[]): Promise<number> {
  let tokens = 0;
  for (const id of ids) {
    for (let after = 0; ; ) {
      const { events, next_after } = await rt.readEvents(id, after, PAGE);
      if (events.length === 0) break;
      for (const event of events) if (event.type === 'token') tokens++;
      after = next_after;
    }
  }
  return tokens;
}

async function completion(rt: SessionRuntime, id: string): Promise<{ done: Promise<void>; unsubscribe: () => void }> {
  let settle!: { resolve: () => void; reject: (error: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const { unsubscribe } = await rt.subscribe(id, {
    deliver: ({ event }) => {
      if (event.type === 'run_completed') settle.resolve();
      else if (event.type === 'run_failed') settle.reject(new Error(`run failed: ${JSON.stringify(event)}`));
    },
    end: () => settle.reject(new Error('session ended')),
  });
  return { done, unsubscribe };
}

const api = {
  async run({ sessions, tokensPerRun, mode }: IngestInput): Promise<IngestResult> {
    const rt = await openRuntime();
    const ids = [];
    for (let i = 0; i < sessions; i++) ids.push((await rt.createSession()).id);
    const watches = await Promise.all(ids.map((id) => completion(rt, id)));
    const start = performance.now();
    await Promise.all(ids.map((id) => rt.appendMessage(id, tokensCommand(tokensPerRun, mode))));
    await within(Promise.all(watches.map((watch) => watch.done)), 120_000, () => `runs did not all complete within 120 s`);
    const elapsedMs = performance.now() - start;
    for (const watch of watches) watch.unsubscribe();
    const stored = await storedTokens(rt, ids);
    if (stored !== sessions * tokensPerRun) throw new Error(`stored ${stored} tokens, expected ${sessions * tokensPerRun}`);
    return { stored, elapsedMs };
  },

  /** The same event rows, inserted by a bare prepared statement into the same schema, `batch` per transaction. */
  async floor({ rows, batch }: FloorInput): Promise<IngestResult> {
    const db = new Database(tempDb());
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID');
    const insert = db.prepare('INSERT INTO events (session_id, seq, data) VALUES (?, ?, ?)');
    const sessionId = 'ses_floorfloorfloorfloor';
    const write = db.transaction((from: number, to: number) => {
      for (let seq = from; seq < to; seq++) {
        const event = { seq, type: 'token', session_id: sessionId, at: new Date().toISOString(), run_id: 'run_floorfloorfloorfloor', text: `${wallClockMs().toFixed(3)} ` };
        insert.run(sessionId, seq, JSON.stringify(event));
      }
    });
    const start = performance.now();
    for (let from = 0; from < rows; from += batch) write(from, Math.min(rows, from + batch));
    const elapsedMs = performance.now() - start;
    db.close();
    return { stored: rows, elapsedMs };
  },
};
export type IngestApi = typeof api;

serve(api, async () => {
  await runtime?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
