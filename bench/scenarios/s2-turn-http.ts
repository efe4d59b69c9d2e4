/**
 * Scenario 2: the human-in-the-loop turn over HTTP (demo agent at 0 ms, SQLite
 * file), clients in a separate process from the server. Its floor is the bare
 * Express figure of scenario 1: a turn costs 3 POSTs and 1 SSE request, so the
 * ratio compares 4 × turns/s with Express's req/s. Scenario 7 measures the
 * same turns on PostgreSQL through `measureTurns`.
 */
import { BambooProcess, logNote, logWarnings } from '../lib/bamboo-process.js';
import { Child, withChildren } from '../lib/child.js';
import type { Row, Setup } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import type { TurnHttpApi, TurnHttpResult } from '../workers/turn-http.js';

export const REQUESTS_PER_TURN = 4;

export interface TurnCase {
  scenario: string;
  /** The base URLs the clients spread over: one, or instances of one database. */
  urls: string[];
  clients: number;
  label: string;
  setup: Setup;
  servers: BambooProcess[];
  /** The servers count their round trips to PostgreSQL: the note gives them per turn, under this load. */
  countStatements?: boolean;
}

/** `s.runs` runs of `clients` looping turns; the row, with the servers' log bytes per turn in its note. */
export async function measureTurns(s: Settings, turns: Child<TurnHttpApi>, c: TurnCase, expressRps: number | undefined): Promise<Row> {
  const runs: TurnHttpResult[] = [];
  let logged = 0;
  const offsets = c.servers.map((server) => server.logBytes());
  const logBytes = () => c.servers.reduce((sum, server) => sum + server.logBytes(), 0);
  const statements: Record<string, number> = {};
  for (let i = 0; i < s.runs; i++) {
    const before = logBytes();
    if (c.countStatements) await Promise.all(c.servers.map((server) => server.child.call('resetRoundTrips')));
    runs.push(await turns.call('run', { urls: c.urls, clients: c.clients, durationMs: s.s2.durationMs, abandonAfterMs: s.s2.abandonAfterMs }));
    logged += logBytes() - before;
    for (const server of c.countStatements ? c.servers : []) {
      for (const [name, n] of Object.entries((await server.child.call('roundTrips')).byName)) statements[name] = (statements[name] ?? 0) + n;
    }
  }
  const warnings = logWarnings(c.servers, offsets);
  const rates = runs.map((run) => (run.turns / run.elapsedMs) * 1000);
  const value = median(rates);
  const p50 = median(runs.map((run) => run.respondToCompleted.p50));
  const p99 = median(runs.map((run) => run.respondToCompleted.p99));
  const ratio = expressRps ? (value * REQUESTS_PER_TURN) / expressRps : undefined;
  const unfinished = runs.reduce((sum, run) => sum + run.interrupted + run.abandoned, 0);
  const abandoned = runs.reduce((sum, run) => sum + run.abandoned, 0);
  const completed = runs.reduce((sum, run) => sum + run.turns, 0);
  const clients = `${c.clients} client${c.clients === 1 ? '' : 's'}`;
  return {
    scenario: c.scenario,
    case: `HITL turn over HTTP, ${c.label}${c.label ? ', ' : ''}${clients}`,
    value,
    unit: 'turns/s',
    runs: rates,
    p50,
    p99,
    ...(expressRps ? { floor: { label: 'bare Express, scenario 1', value: expressRps, unit: 'req/s', runs: [] }, ratio } : {}),
    // Issue 6's target is the single-process figure's; elsewhere, every turn must at least complete.
    target:
      c.scenario === '2' && c.clients === 100
        ? { text: '≥ 400 turns/s, respond→completed p99 ≤ 50 ms', met: value >= 400 && p99 <= 50 && unfinished === 0 }
        : c.scenario === '2'
          ? undefined
          : { text: 'every turn completes', met: unfinished === 0 },
    compare: { measure: `HITL turn over HTTP, ${clients}`, setup: c.setup },
    note:
      (unfinished > 0
        ? `${unfinished} of ${unfinished + completed} turns UNFINISHED (${unfinished - abandoned} run_interrupted on the stream, ${abandoned} without progress for ${s.s2.abandonAfterMs} ms; left out of turns/s and latencies; the first: ${runs.find((run) => run.firstUnfinished)?.firstUnfinished}); `
        : '') +
      (warnings ? `server warnings: ${warnings}; ` : '') +
      (c.countStatements ? `${perTurn(statements, completed + unfinished)}; ` : '') +
      `p50/p99: respond → run_completed on the stream; ratio = ${REQUESTS_PER_TURN} requests per turn × turns/s ÷ bare Express req/s; ${logNote(logged, completed + unfinished, 'turn')}`,
  };
}

/** Statements to PostgreSQL per turn, in all and of the most frequent kinds. */
function perTurn(statements: Record<string, number>, turns: number): string {
  const total = Object.values(statements).reduce((sum, n) => sum + n, 0);
  const kinds = Object.entries(statements)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 4)
    .map(([name, n]) => `${name.replace(/^bamboo_/, '')} ${(n / turns).toFixed(1)}`);
  return `${(total / turns).toFixed(1)} statements to PostgreSQL per turn under this load, whole turn with its stream and token commits (${kinds.join(', ')})`;
}

export async function turnHttp(s: Settings, expressRps: number | undefined): Promise<Row[]> {
  const server = BambooProcess.launch();
  const clients = Child.start<TurnHttpApi>('workers/turn-http.ts');
  return withChildren([server.child, clients], async () => {
    const url = await server.start();
    // Warms the server's code paths; not kept.
    await clients.call('run', { urls: [url], clients: 10, durationMs: s.quick ? 200 : 1000, abandonAfterMs: s.s2.abandonAfterMs });
    const rows: Row[] = [];
    for (const count of s.s2.clients) {
      rows.push(await measureTurns(s, clients, { scenario: '2', urls: [url], clients: count, label: '', setup: 'sqlite', servers: [server] }, expressRps));
    }
    return rows;
  });
}
