/**
 * Scenario 6b's measurements on one seeded file, in a process of its own:
 * 1. `open`: memory with `active` sessions live and mid-conversation (each
 *    asked a question, waiting for the answer), however many are stored;
 * 2. `resumes`: `resume` latency for random stored sessions that are not
 *    live. This runtime keeps only 100 live actors and no id is drawn again
 *    within 500 calls, so every call hydrates from storage. The parent
 *    alternates rounds between the files' processes, so a noisy moment on the
 *    machine does not land on one size only.
 * The store holds its file exclusively, so the random ids are drawn from the
 * file before the first runtime opens it, and the reader is closed by then.
 */
import Database from 'better-sqlite3';
import { createDemoAgent } from '../../dist/src/agents/demo.js';
import { createRuntime, type SessionRuntime } from '../../dist/src/runtime/runtime.js';
import { SqliteStore } from '../../dist/src/storage/sqlite/sqlite-store.js';
import { STEP_TIMEOUT_MS, within } from '../lib/deadline.js';
import { serve } from '../lib/serve.js';
import { type LatencySummary, Samples } from '../lib/stats.js';

export interface OpenInput {
  dbPath: string;
  active: number;
  /** Resumes `resumes` will be asked for in all, warm-up included. */
  draws: number;
}

export interface OpenResult {
  stored: number;
  /** How long `runtime.start()` took (it counts sessions by state). */
  startMs: number;
  rssMb: number;
  heapUsedMb: number;
}

const RECENT = 500;
const MAX_LIVE_FOR_RESUME = 100;

let dbPath = '';
let stored = 0;
let runtime: SessionRuntime | undefined;
let latencies = new Samples();
/** Ids for `resumes`, drawn in advance. */
let resumeIds: string[] = [];

function openRuntime(maxLiveActors?: number): SessionRuntime {
  return createRuntime({
    store: new SqliteStore(dbPath),
    agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]),
    defaultAgent: 'demo',
    maxLiveActors,
  });
}

type RandomRow = () => { id: string; state: string; ordinal: number };

/** `count` random stored ids, none drawn twice within `RECENT` draws. */
function drawForResumes(randomRow: RandomRow, count: number): string[] {
  const lastDrawn = new Map<number, number>();
  const ids: string[] = [];
  while (ids.length < count) {
    const row = randomRow();
    const previous = lastDrawn.get(row.ordinal);
    if (previous !== undefined && ids.length - previous < Math.min(RECENT, stored / 2)) continue;
    lastDrawn.set(row.ordinal, ids.length);
    ids.push(row.id);
  }
  return ids;
}

/** Distinct idle sessions (an earlier measurement may have left some waiting for an answer). */
function drawIdle(randomRow: RandomRow, count: number): string[] {
  const ids = new Set<string>();
  for (let tries = 0; ids.size < count && tries < count * 100; tries++) {
    const row = randomRow();
    if (row.state === 'idle') ids.add(row.id);
  }
  if (ids.size < count) throw new Error(`found only ${ids.size} idle sessions to activate`);
  return [...ids];
}

async function activate(rt: SessionRuntime, ids: string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      let resolveAsked!: () => void;
      const asked = new Promise<void>((resolve) => (resolveAsked = resolve));
      const { unsubscribe } = await rt.subscribe(id, { deliver: ({ event }) => event.type === 'question_asked' && resolveAsked(), end: () => undefined });
      await rt.appendMessage(id, '/ask Pick | a | b');
      await within(asked, STEP_TIMEOUT_MS, () => `session ${id}: no question_asked within ${STEP_TIMEOUT_MS} ms`);
      unsubscribe();
    }),
  );
}

const api = {
  async open(input: OpenInput): Promise<OpenResult> {
    dbPath = input.dbPath;
    const reader = new Database(dbPath, { readonly: true });
    let activeIds: string[];
    try {
      stored = reader.prepare('SELECT MAX(ordinal) FROM sessions').pluck().get() as number;
      const byOrdinal = reader.prepare('SELECT id, state FROM sessions WHERE ordinal = ?');
      const randomRow: RandomRow = () => {
        const ordinal = 1 + Math.floor(Math.random() * stored);
        return { ...(byOrdinal.get(ordinal) as { id: string; state: string }), ordinal };
      };
      activeIds = drawIdle(randomRow, input.active);
      resumeIds = drawForResumes(randomRow, input.draws);
    } finally {
      reader.close();
    }

    const started = performance.now();
    const first = openRuntime();
    await first.start();
    const startMs = performance.now() - started;
    await activate(first, activeIds);
    const memory = process.memoryUsage();
    await first.shutdown();

    runtime = openRuntime(MAX_LIVE_FOR_RESUME);
    await runtime.start();
    return { stored, startMs, rssMb: memory.rss / 2 ** 20, heapUsedMb: memory.heapUsed / 2 ** 20 };
  },

  /** `count` resumes, one at a time; kept for the summary unless `warmUp`. */
  async resumes({ count, warmUp = false }: { count: number; warmUp?: boolean }): Promise<void> {
    const rt = runtime!;
    for (let i = 0; i < count; i++) {
      const id = resumeIds.pop();
      if (id === undefined) throw new Error('more resumes asked for than drawn at open');
      // Between requests a server goes round its event loop; passivation runs there.
      await new Promise((resolve) => setImmediate(resolve));
      const at = performance.now();
      const result = await rt.resume(id);
      const elapsed = performance.now() - at;
      if (!warmUp) latencies.push(elapsed);
      if (result.outcome !== 'Completed') throw new Error(`resume of a stored session answered ${result.outcome}`);
    }
  },

  async summary(): Promise<LatencySummary> {
    const summary = latencies.summary();
    latencies = new Samples();
    return summary;
  },
};
export type StoreScaleApi = typeof api;

serve(api, async () => {
  await runtime?.shutdown();
});
