/**
 * Scenario 4: durable `token` ingest by 1, 10 and 100 concurrent runs, with
 * the bench agent awaiting each emit (a paced stream: every token stored
 * before the next) and not awaiting (a burst the runtime may batch). Each
 * mode runs in its own process. The floor inserts the same rows with a bare
 * prepared statement, in transactions as large as the runtime could ideally
 * make them: one token per run per transaction when paced, one run's burst
 * per transaction otherwise.
 */
import { Child, withChildren } from '../lib/child.js';
import type { Row } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import type { IngestApi, IngestResult } from '../workers/ingest.js';

const rate = (result: IngestResult) => (result.stored / result.elapsedMs) * 1000;
const MODES = ['await', 'burst'] as const;

export async function ingest(s: Settings): Promise<Row[]> {
  const workers = {
    await: Child.start<IngestApi>('workers/ingest.ts', { label: 'ingest-await' }),
    burst: Child.start<IngestApi>('workers/ingest.ts', { label: 'ingest-burst' }),
  };
  const floor = Child.start<IngestApi>('workers/ingest.ts', { label: 'ingest-floor' });
  return withChildren([workers.await, workers.burst, floor], async () => {
    const rows: Row[] = [];
    for (const mode of MODES) await workers[mode].call('run', { sessions: 10, tokensPerRun: 100, mode });
    for (const sessions of s.s4.sessions) {
      const tokensPerRun = Math.ceil(s.s4.tokensPerCase / sessions);
      for (const mode of MODES) {
        const runs: IngestResult[] = [];
        const floorRuns: IngestResult[] = [];
        const batch = mode === 'await' ? sessions : tokensPerRun;
        for (let i = 0; i < s.runs; i++) {
          runs.push(await workers[mode].call('run', { sessions, tokensPerRun, mode }));
          floorRuns.push(await floor.call('floor', { rows: sessions * tokensPerRun, batch }));
        }
        const value = median(runs.map(rate));
        const floorValue = median(floorRuns.map(rate));
        rows.push({
          scenario: '4',
          case: `token ingest, ${sessions} run${sessions === 1 ? '' : 's'} × ${tokensPerRun} tokens, emit ${mode === 'await' ? 'awaited' : 'not awaited'}`,
          value,
          unit: 'events/s',
          runs: runs.map(rate),
          floor: { label: `bare INSERT, ${batch}/tx`, value: floorValue, unit: 'rows/s', runs: floorRuns.map(rate) },
          ratio: value / floorValue,
          target: { text: '≥ 20,000 durable events/s', met: value >= 20_000 },
        });
      }
    }
    return rows;
  });
}
