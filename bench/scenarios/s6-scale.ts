/**
 * Scenario 6: memory and lookup at scale. Heap per live idle actor in its own
 * process; then a SQLite file per size (1k, 100k, 1M stored sessions), each
 * with a process of its own: RSS with `active` sessions live and
 * mid-conversation, and `resume` latency on random stored sessions that are
 * not live, measured in rounds that alternate between the sizes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, inChild } from '../lib/child.js';
import type { Row } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import type { HeapApi } from '../workers/heap.js';
import type { SeedApi } from '../workers/seed.js';
import type { LatencySummary } from '../lib/stats.js';
import type { OpenResult, StoreScaleApi } from '../workers/store-scale.js';

const KB = 1024;

function count(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}

export async function scale(s: Settings, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const { heapActors, storedSessions, active, resumes } = s.s6;

  const points = await inChild<HeapApi, 'run'>('workers/heap.ts', 'run', { counts: heapActors }, { nodeArgs: ['--expose-gc'] });
  for (const point of points) {
    rows.push({
      scenario: '6',
      case: `heap per live idle actor, ${count(point.actors)} actors`,
      value: point.bytesPerActor / KB,
      unit: 'KB',
      runs: [point.bytesPerActor / KB],
      target: { text: '≤ 8 KB', met: point.bytesPerActor <= 8 * KB },
      note: `heapUsed ${point.heapUsedMb.toFixed(0)} MB, RSS ${point.rssMb.toFixed(0)} MB with ${count(point.actors)} live actors`,
    });
  }

  const dir = mkdtempSync(join(tmpdir(), 'bamboo-bench-scale-'));
  const children: Child<StoreScaleApi>[] = [];
  try {
    // One file per size, so the sizes can be measured side by side.
    const files: string[] = [];
    for (const total of storedSessions) {
      const dbPath = join(dir, `scale-${total}.db`);
      const seeded = await inChild<SeedApi, 'seed'>('workers/seed.ts', 'seed', { dbPath, total });
      log(`  seeded ${count(seeded.total)} sessions in ${(seeded.elapsedMs / 1000).toFixed(1)} s`);
      files.push(dbPath);
    }
    const opened: OpenResult[] = [];
    const warmUp = Math.min(200, resumes);
    const perRound = Math.ceil(resumes / s.runs);
    for (const dbPath of files) {
      const child = Child.start<StoreScaleApi>('workers/store-scale.ts');
      children.push(child);
      opened.push(await child.call('open', { dbPath, active, draws: warmUp + s.runs * perRound }));
    }
    for (const child of children) await child.call('resumes', { count: warmUp, warmUp: true });
    for (let round = 0; round < s.runs; round++) {
      for (const child of children) await child.call('resumes', { count: perRound });
    }
    const latencies: LatencySummary[] = [];
    for (const child of children) latencies.push(await child.call('summary'));

    opened.forEach((result, i) => {
      rows.push({
        scenario: '6',
        case: `resume, not live, ${count(result.stored)} stored`,
        value: latencies[i].p99,
        unit: 'ms p99',
        runs: [latencies[i].p99],
        p50: latencies[i].p50,
        p99: latencies[i].p99,
        note: `${latencies[i].n} resumes one at a time, in ${s.runs} rounds alternating between sizes; runtime start ${result.startMs.toFixed(0)} ms`,
      });
    });
    const growth = latencies.at(-1)!.p99 / latencies[0].p99;
    rows.push({
      scenario: '6',
      case: `resume p99, ${count(opened.at(-1)!.stored)} vs ${count(opened[0].stored)} stored`,
      value: growth,
      unit: '×',
      runs: [growth],
      target: { text: '≤ 1.5×', met: growth <= 1.5 },
    });
    opened.forEach((result, i) => {
      rows.push({
        scenario: '6',
        case: `RSS, ${count(result.stored)} stored, ${count(active)} active`,
        value: result.rssMb,
        unit: 'MB',
        runs: [result.rssMb],
        target: i === opened.length - 1 ? { text: '< 300 MB', met: result.rssMb < 300 } : undefined,
        note: `heapUsed ${result.heapUsedMb.toFixed(0)} MB; active = live and awaiting an answer`,
      });
    });
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
