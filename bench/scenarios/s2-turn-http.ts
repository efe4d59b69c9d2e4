/**
 * Scenario 2: the human-in-the-loop turn over HTTP (demo agent at 0 ms, SQLite
 * file), clients in a separate process from the server. Its floor is the bare
 * Express figure of scenario 1: a turn costs 3 POSTs and 1 SSE request, so the
 * ratio compares 4 × turns/s with Express's req/s.
 */
import { Child, withChildren } from '../lib/child.js';
import type { Row } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import type { BambooServerApi } from '../servers/bamboo.js';
import type { TurnHttpApi, TurnHttpResult } from '../workers/turn-http.js';

export const REQUESTS_PER_TURN = 4;

export async function turnHttp(s: Settings, expressRps: number | undefined): Promise<Row[]> {
  const server = Child.start<BambooServerApi>('servers/bamboo.ts');
  const clients = Child.start<TurnHttpApi>('workers/turn-http.ts');
  return withChildren([server, clients], async () => {
    const { url } = await server.call('start');
    // Warms the server's code paths; not kept.
    await clients.call('run', { url, clients: 10, durationMs: s.quick ? 200 : 1000 });
    const rows: Row[] = [];
    for (const count of s.s2.clients) {
      const runs: TurnHttpResult[] = [];
      for (let i = 0; i < s.runs; i++) runs.push(await clients.call('run', { url, clients: count, durationMs: s.s2.durationMs }));
      const rates = runs.map((run) => (run.turns / run.elapsedMs) * 1000);
      const value = median(rates);
      const p50 = median(runs.map((run) => run.respondToCompleted.p50));
      const p99 = median(runs.map((run) => run.respondToCompleted.p99));
      const ratio = expressRps ? (value * REQUESTS_PER_TURN) / expressRps : undefined;
      rows.push({
        scenario: '2',
        case: `HITL turn over HTTP, ${count} client${count === 1 ? '' : 's'}`,
        value,
        unit: 'turns/s',
        runs: rates,
        p50,
        p99,
        ...(expressRps ? { floor: { label: 'bare Express, scenario 1', value: expressRps, unit: 'req/s', runs: [] }, ratio } : {}),
        target: count === 100 ? { text: '≥ 400 turns/s, respond→completed p99 ≤ 50 ms', met: value >= 400 && p99 <= 50 } : undefined,
        note: `p50/p99: respond → run_completed on the stream; ratio = ${REQUESTS_PER_TURN} requests per turn × turns/s ÷ bare Express req/s`,
      });
    }
    return rows;
  });
}
