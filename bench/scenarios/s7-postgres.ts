/**
 * Scenario 7: PostgreSQL. Two server processes, instances `bench-a` and
 * `bench-b` of one fresh database, each as the CLI runs it (own pool of 10,
 * own LISTEN connection, default lease), logging to its own file:
 * - `POST /resume` throughput on a session with nothing to do (as scenario 1);
 * - HITL turns over HTTP (as scenario 2) on instance A alone, then with every
 *   turn crossing instances (session and stream on one, message and answer on
 *   the other);
 * - round trips to PostgreSQL per HITL turn, on one instance and across two;
 * - SSE latency from a run on A to subscribers on A, and on B (through
 *   NOTIFY and a read of the log).
 * Fails, saying how to start it, when PostgreSQL does not answer.
 */
import { BambooProcess } from '../lib/bamboo-process.js';
import { BENCH_AGENT, tokensCommand } from '../lib/bench-agent.js';
import { Child, withChildren } from '../lib/child.js';
import { JsonClient } from '../lib/http-client.js';
import { createBenchDatabase } from '../lib/pg-database.js';
import type { Row } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import { RUN_INTERRUPTED } from '../lib/token-stream.js';
import { median } from '../lib/stats.js';
import type { CollectResult, SseSubscribersApi } from '../workers/sse-subscribers.js';
import type { TurnHttpApi } from '../workers/turn-http.js';
import { idleSessionResumeUrl, load, type Load } from './s1-resume-http.js';
import { measureTurns } from './s2-turn-http.js';
import { countTurns, describeStatements } from './s7-round-trips.js';

const ROUND_TRIP_TARGET = 6;

async function resume(s: Settings, a: BambooProcess, expressRps: number | undefined): Promise<Row> {
  const target = await idleSessionResumeUrl(a.url);
  const { connections, durationS, warmUpS } = s.s1;
  if (warmUpS > 0) await load(target, connections, warmUpS);
  const runs: Load[] = [];
  let statements = 0;
  for (let i = 0; i < s.runs; i++) {
    await a.child.call('resetRoundTrips');
    runs.push(await load(target, connections, durationS));
    statements += (await a.child.call('roundTrips')).total;
  }
  const rps = median(runs.map((run) => run.rps));
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  return {
    scenario: '7',
    case: `PostgreSQL: POST /resume, nothing to do, ${connections} conns × ${durationS} s`,
    value: rps,
    unit: 'req/s',
    runs: runs.map((run) => run.rps),
    p99: median(runs.map((run) => run.p99)),
    ...(expressRps ? { floor: { label: 'bare Express, scenario 1', value: expressRps, unit: 'req/s', runs: [] }, ratio: rps / expressRps } : {}),
    compare: { measure: `POST /resume, ${connections} connections`, setup: 'pg1' },
    note: `${(statements / requests).toFixed(2)} round trips to PostgreSQL per request`,
  };
}

async function sse(s: Settings, subscribers: Child<SseSubscribersApi>, a: BambooProcess, b: BambooProcess): Promise<Row[]> {
  const client = new JsonClient(a.url);
  const tokens = s.s5.tokens;
  let retried = 0;
  /** One run to `count` subscribers on `on`; again when the run was recorded interrupted (a lost lease: see "Unfinished turns" in BENCHMARKS.md). */
  const measure = async (on: BambooProcess, count: number): Promise<CollectResult> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await oneRun(on, count);
      } catch (error) {
        if (!(error instanceof Error && error.message.includes(RUN_INTERRUPTED)) || attempt === 3) throw error;
        retried++;
      }
    }
  };
  const oneRun = async (on: BambooProcess, count: number): Promise<CollectResult> => {
    const { session } = await client.expect<{ session: { id: string } }>(201, 'POST', '/api/v1/sessions', { agent: BENCH_AGENT });
    await subscribers.call('connect', { url: `${on.url}/api/v1/sessions/${session.id}/events`, subscribers: count });
    try {
      await client.expect(202, 'POST', `/api/v1/sessions/${session.id}/messages`, { content: tokensCommand(tokens, 'await') });
      return await subscribers.call('collect', { tokens, timeoutMs: 120_000 });
    } finally {
      await subscribers.call('close');
    }
  };
  const rows: Row[] = [];
  try {
    await measure(b, 10);
    for (const count of s.s7.sseSubscribers) {
      const subs = `${count} subscriber${count === 1 ? '' : 's'}`;
      const local: CollectResult[] = [];
      const remote: CollectResult[] = [];
      for (let i = 0; i < s.runs; i++) {
        local.push(await measure(a, count));
        remote.push(await measure(b, count));
      }
      const rate = (result: CollectResult) => (result.delivered / result.spanMs) * 1000;
      for (const [where, runs, setup] of [['the same instance', local, 'pg1'], ['the other instance', remote, 'pg2']] as const) {
        rows.push({
          scenario: '7',
          case: `PostgreSQL: SSE, 1 run × ${tokens} tokens on A → ${subs} on ${where}`,
          value: median(runs.map(rate)),
          unit: 'events/s',
          runs: runs.map(rate),
          p50: median(runs.map((run) => run.latency.p50)),
          p99: median(runs.map((run) => run.latency.p99)),
          compare: { measure: `SSE, 1 run × ${tokens} tokens → ${subs}`, setup },
          note:
            `latency: token made by the agent on A → parsed by the client${where === 'the other instance' ? '; B learns of each commit by NOTIFY and reads it from the log' : ''}` +
            (retried > 0 ? `; ${retried} run(s) of this scenario were interrupted and run again` : ''),
        });
      }
    }
  } finally {
    client.close();
  }
  return rows;
}

async function roundTrips(s: Settings, a: BambooProcess, b: BambooProcess): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [label, urls] of [['on one instance', [a.url]], ['message and answer on the other instance', [a.url, b.url]]] as const) {
    const count = await countTurns([a, b], urls, s.s7.roundTripTurns);
    rows.push({
      scenario: '7',
      case: `PostgreSQL: round trips per HITL turn, ${label}`,
      value: count.turn,
      unit: 'round trips',
      runs: [count.turn],
      target: { text: `≤ ${ROUND_TRIP_TARGET}, token commits excluded`, met: count.turn <= ROUND_TRIP_TARGET },
      note:
        `median of ${s.s7.roundTripTurns} turns (message → completed, the stream open on A), plus ${count.tokenCommits} token-only commit(s); ` +
        `statements: ${describeStatements(count.byName)} (commit includes token commits); creating the session and opening its stream: ${count.setup} more` +
        (count.interrupted > 0 ? `; ${count.interrupted} turn(s) interrupted and done again` : ''),
    });
  }
  return rows;
}

export async function postgres(s: Settings, expressRps: number | undefined): Promise<Row[]> {
  const db = await createBenchDatabase();
  try {
    const a = BambooProcess.launch('bamboo-pg-a');
    const b = BambooProcess.launch('bamboo-pg-b');
    const turns = Child.start<TurnHttpApi>('workers/turn-http.ts');
    const subscribers = Child.start<SseSubscribersApi>('workers/sse-subscribers.ts');
    return await withChildren([a.child, b.child, turns, subscribers], async () => {
      // One after the other: the first creates the schema.
      await a.start({ db: db.url, instanceId: 'bench-a', countRoundTrips: true });
      await b.start({ db: db.url, instanceId: 'bench-b', countRoundTrips: true });
      const rows: Row[] = [await resume(s, a, expressRps)];
      await turns.call('run', { urls: [a.url, b.url], clients: 10, durationMs: s.quick ? 200 : 1000, abandonAfterMs: s.s2.abandonAfterMs });
      for (const clients of s.s2.clients) {
        rows.push(await measureTurns(s, turns, { scenario: '7', urls: [a.url], clients, label: 'PostgreSQL, 1 instance', setup: 'pg1', servers: [a, b], countStatements: true }, expressRps));
        rows.push(
          await measureTurns(s, turns, { scenario: '7', urls: [a.url, b.url], clients, label: 'PostgreSQL, 2 instances, every turn across', setup: 'pg2', servers: [a, b], countStatements: true }, expressRps),
        );
      }
      rows.push(...(await roundTrips(s, a, b)));
      rows.push(...(await sse(s, subscribers, a, b)));
      return rows;
    });
  } finally {
    await db.drop();
  }
}
