/**
 * Scenario 6a: heap per live idle actor. Creates sessions through the runtime
 * (SQLite file, passivation limits above the count) and divides the heap
 * growth, measured after full collections, by the number of sessions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoAgent } from '../../dist/src/agents/demo.js';
import { createRuntime, type SessionRuntime } from '../../dist/src/runtime/runtime.js';
import { SqliteStore } from '../../dist/src/storage/sqlite/sqlite-store.js';
import { collectGarbage } from '../lib/gc.js';
import { serve } from '../lib/serve.js';

export interface HeapInput {
  /** Live actor counts to measure at, ascending. */
  counts: number[];
}

export interface HeapPoint {
  actors: number;
  bytesPerActor: number;
  heapUsedMb: number;
  rssMb: number;
}

const WARM_UP = 200;
const BATCH = 500;

let dir: string | undefined;
let runtime: SessionRuntime | undefined;

const api = {
  async run({ counts }: HeapInput): Promise<HeapPoint[]> {
    dir = mkdtempSync(join(tmpdir(), 'bamboo-bench-'));
    const max = Math.max(...counts);
    runtime = createRuntime({
      store: new SqliteStore(join(dir, 'bamboo.db')),
      agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]),
      defaultAgent: 'demo',
      maxLiveActors: max + WARM_UP + BATCH,
      // Nor may their estimated memory passivate any.
      maxLiveBytes: Number.POSITIVE_INFINITY,
    });
    await runtime.start();
    const rt = runtime;
    const create = async (n: number) => {
      for (let i = 0; i < n; i += BATCH) await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, () => rt.createSession()));
    };
    // Code paths, caches and statement handles exist before the baseline.
    await create(WARM_UP);
    collectGarbage();
    const baseline = process.memoryUsage().heapUsed;
    const points: HeapPoint[] = [];
    let created = 0;
    for (const count of counts) {
      await create(count - created);
      created = count;
      collectGarbage();
      const memory = process.memoryUsage();
      if (rt.stats().liveActors !== created + WARM_UP) throw new Error(`expected ${created + WARM_UP} live actors, found ${rt.stats().liveActors}`);
      points.push({ actors: count, bytesPerActor: (memory.heapUsed - baseline) / count, heapUsedMb: memory.heapUsed / 2 ** 20, rssMb: memory.rss / 2 ** 20 });
    }
    return points;
  },
};
export type HeapApi = typeof api;

serve(api, async () => {
  await runtime?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
