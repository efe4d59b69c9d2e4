/**
 * Scenario 3: the same turn in-process through SessionRuntime (SQLite file),
 * next to the bare machine (no storage), each in its own process; runs
 * alternate between the two.
 */
import { Child, withChildren } from '../lib/child.js';
import type { Row } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import type { TurnInprocApi, TurnResult } from '../workers/turn-inproc.js';

const rate = (result: TurnResult) => (result.turns / result.elapsedMs) * 1000;

export async function turnInproc(s: Settings): Promise<Row[]> {
  const runtime = Child.start<TurnInprocApi>('workers/turn-inproc.ts', { label: 'turn-inproc-runtime' });
  const bare = Child.start<TurnInprocApi>('workers/turn-inproc.ts', { label: 'turn-inproc-bare' });
  return withChildren([runtime, bare], async () => {
    await Promise.all([runtime.call('open', 'runtime'), bare.call('open', 'bare')]);
    const rows: Row[] = [];
    for (const concurrency of s.s3.concurrency) {
      await runtime.call('run', { concurrency, durationMs: s.s3.warmUpMs });
      await bare.call('run', { concurrency, durationMs: s.s3.warmUpMs });
      const runs: TurnResult[] = [];
      const floorRuns: TurnResult[] = [];
      for (let i = 0; i < s.runs; i++) {
        runs.push(await runtime.call('run', { concurrency, durationMs: s.s3.durationMs }));
        floorRuns.push(await bare.call('run', { concurrency, durationMs: s.s3.durationMs }));
      }
      const value = median(runs.map(rate));
      const floor = median(floorRuns.map(rate));
      const ratio = value / floor;
      const measured = concurrency === Math.max(...s.s3.concurrency);
      const interrupted = runs.reduce((sum, run) => sum + run.interrupted, 0);
      const first = runs.find((run) => run.firstInterrupted)?.firstInterrupted;
      rows.push({
        scenario: '3',
        case: `HITL turn in-process, concurrency ${concurrency}`,
        value,
        unit: 'turns/s',
        runs: runs.map(rate),
        p50: median(runs.map((run) => run.respondToCompleted.p50)),
        p99: median(runs.map((run) => run.respondToCompleted.p99)),
        floor: { label: 'bare machine', value: floor, unit: 'turns/s', runs: floorRuns.map(rate) },
        ratio,
        target: measured ? { text: '≥ 1,250 turns/s and ≥ 40 % of bare', met: value >= 1250 && ratio >= 0.4 && interrupted === 0 } : undefined,
        note:
          (interrupted > 0 ? `${interrupted} turns INTERRUPTED (left out of turns/s and latencies; the first: ${first}); ` : '') +
          `bare machine respond→completed p50 ${median(floorRuns.map((run) => run.respondToCompleted.p50)).toFixed(3)} ms, p99 ${median(floorRuns.map((run) => run.respondToCompleted.p99)).toFixed(3)} ms`,
      });
    }
    return rows;
  });
}
