/**
 * Scenario 8: 1,000 SSE clients of which 100 never read, while runs go on.
 * One server (SQLite, the CLI's defaults, every limit at its default). Per
 * run: HITL turns alone (the quiet figure); then the crowd connects (the
 * non-readers on a few "firehose" sessions whose runs stream large tokens,
 * the readers on "steady" sessions streaming small ones, one reader on each
 * firehose session too), the runs start, and the same HITL turns run beside
 * them. The turn clients delete each session after its turn, so the RSS
 * measures the crowd rather than thousands of finished sessions kept live. The server's RSS is sampled throughout; the server's shared buffer
 * budget should cut the non-readers and nobody else.
 */
import { BambooProcess, logWarnings } from '../lib/bamboo-process.js';
import { BENCH_AGENT, tokensCommand } from '../lib/bench-agent.js';
import { Child, withChildren } from '../lib/child.js';
import { JsonClient } from '../lib/http-client.js';
import type { Row } from '../lib/report.js';
import { sampleRss } from '../lib/rss.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import type { CrowdApi, CrowdStatus } from '../workers/crowd.js';
import type { TurnHttpApi, TurnHttpResult } from '../workers/turn-http.js';

const API = '/api/v1';
/** A run long enough to last the phase; it is cancelled at the end. */
const ENDLESS = 10_000_000;
/** What the server logs when it cuts a stream (src/http/sse.ts), for telling whose stream was cut. */
const CUT_MESSAGE = 'SSE client too slow; disconnecting';
const RSS_EVERY_MS = 50;

interface Phase {
  quiet: TurnHttpResult;
  busy: TurnHttpResult;
  quietRssMb: number;
  crowdRssMb: number;
  nonReadersCut: number;
  status: CrowdStatus;
  /** Cuts the server logged on firehose sessions, on other sessions, and when the last one came (s after the runs started). */
  logged: { firehose: number; other: number; lastAfterS: number };
  /** The server's memory once the crowd has gone, in MB. */
  after: { rss: number; heapUsed: number; external: number };
}

async function createSessions(client: JsonClient, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await client.expect<{ session: { id: string } }>(201, 'POST', `${API}/sessions`, { agent: BENCH_AGENT })).session.id);
  return ids;
}

function loggedCuts(server: BambooProcess, from: number, firehose: ReadonlySet<string>, startedAt: number): Phase['logged'] {
  const logged = { firehose: 0, other: 0, lastAfterS: 0 };
  for (const line of server.logLines(from, CUT_MESSAGE)) {
    if (line.msg !== CUT_MESSAGE) continue;
    if (firehose.has(String(line.session_id))) logged.firehose++;
    else logged.other++;
    logged.lastAfterS = Math.max(logged.lastAfterS, (Number(line.time) - startedAt) / 1000);
  }
  return logged;
}

async function phase(s: Settings, server: BambooProcess, turns: Child<TurnHttpApi>, crowd: Child<CrowdApi>, rss: ReturnType<typeof sampleRss>): Promise<Phase> {
  const c = s.s8;
  // Sessions are deleted after their turn: thousands of finished sessions kept live would swamp the crowd's share of RSS.
  const hitl = { urls: [server.url], clients: c.hitlClients, durationMs: c.durationMs, abandonAfterMs: s.s2.abandonAfterMs, deleteSessions: true };
  rss.peak();
  const quiet = await turns.call('run', hitl);
  const quietRssMb = rss.peak();

  const client = new JsonClient(server.url);
  try {
    const firehose = await createSessions(client, c.firehoseSessions);
    const steady = await createSessions(client, c.steadySessions);
    const from = server.logBytes();
    await crowd.call('connect', { url: server.url, firehose, steady, readers: c.readers, nonReaders: c.nonReaders });
    const startedAt = Date.now();
    const start = (id: string, command: string) => client.expect(202, 'POST', `${API}/sessions/${id}/messages`, { content: command });
    await Promise.all([
      ...firehose.map((id) => start(id, tokensCommand(ENDLESS, 'await', c.firehose))),
      ...steady.map((id) => start(id, tokensCommand(ENDLESS, 'await', { everyMs: c.steadyEveryMs }))),
    ]);
    const busy = await turns.call('run', hitl);
    // The non-readers may still be being cut: wait for the server to have cut them all, for a while.
    const watched = new Set(firehose);
    for (const until = Date.now() + c.cutWaitMs; Date.now() < until && loggedCuts(server, from, watched, startedAt).firehose < c.nonReaders; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const status = await crowd.call('status');
    const crowdRssMb = rss.peak();
    await Promise.all([...firehose, ...steady].map((id) => client.request('POST', `${API}/sessions/${id}/cancel`)));
    const nonReadersCut = await crowd.call('drain', { waitMs: 3000 });
    await crowd.call('close');
    const memory = await server.child.call('memory');
    const after = { rss: memory.rss / 2 ** 20, heapUsed: memory.heapUsed / 2 ** 20, external: memory.external / 2 ** 20 };
    return { quiet, busy, quietRssMb, crowdRssMb, nonReadersCut, status, logged: loggedCuts(server, from, watched, startedAt), after };
  } finally {
    client.close();
  }
}

export async function abuse(s: Settings): Promise<Row[]> {
  const c = s.s8;
  const server = BambooProcess.launch('bamboo-crowd');
  const turns = Child.start<TurnHttpApi>('workers/turn-http.ts');
  const crowd = Child.start<CrowdApi>('workers/crowd.ts');
  return withChildren([server.child, turns, crowd], async () => {
    await server.start();
    const from = server.logBytes();
    await turns.call('run', { urls: [server.url], clients: c.hitlClients, durationMs: s.quick ? 200 : 1000, abandonAfterMs: s.s2.abandonAfterMs, deleteSessions: true });
    const rss = sampleRss(server.pid, RSS_EVERY_MS, async () => (await server.child.call('memory')).rss / 2 ** 20);
    const phases: Phase[] = [];
    try {
      for (let i = 0; i < s.runs; i++) phases.push(await phase(s, server, turns, crowd, rss));
    } finally {
      rss.stop();
    }
    const rate = (run: TurnHttpResult) => (run.turns / run.elapsedMs) * 1000;
    const of = <T>(pick: (phase: Phase) => T) => phases.map(pick);
    const quietP99 = median(of((p) => p.quiet.respondToCompleted.p99));
    const busyP99 = median(of((p) => p.busy.respondToCompleted.p99));
    const rssPeak = Math.max(...of((p) => p.crowdRssMb));
    const unfinished = phases.reduce((sum, p) => sum + p.busy.interrupted + p.busy.abandoned + p.quiet.interrupted + p.quiet.abandoned, 0);
    const readersCut = phases.reduce((sum, p) => sum + p.status.readersCut, 0);
    const otherCuts = phases.reduce((sum, p) => sum + p.logged.other, 0);
    const crowdText = `${c.readers + c.nonReaders} SSE clients (${c.nonReaders} not reading)`;
    const warnings = logWarnings([server], [from]);
    return [
      {
        scenario: '8',
        case: `server RSS peak, ${crowdText}, runs streaming`,
        value: median(of((p) => p.crowdRssMb)),
        unit: 'MB',
        runs: of((p) => p.crowdRssMb),
        target: { text: `< ${c.rssBudgetMb} MB in every run`, met: rssPeak < c.rssBudgetMb },
        note:
          `sampled every ${RSS_EVERY_MS} ms; per run: ${of((p) => `${p.quietRssMb.toFixed(0)} MB during the quiet turns, ${p.crowdRssMb.toFixed(0)} MB with the crowd, ` +
            `${p.after.rss.toFixed(0)} MB after it left (heapUsed ${p.after.heapUsed.toFixed(0)} MB, external ${p.after.external.toFixed(0)} MB)`).join('; ')}; the crowd's runs: ${c.firehoseSessions} sessions × ${c.firehose.bytes} B tokens every ${c.firehose.everyMs} ms (the non-readers' and one reader each), ${c.steadySessions} sessions × a small token every ${c.steadyEveryMs} ms (the other readers)`,
      },
      {
        scenario: '8',
        case: `HITL turn over HTTP, ${c.hitlClients} clients, beside ${crowdText}`,
        value: median(of((p) => rate(p.busy))),
        unit: 'turns/s',
        runs: of((p) => rate(p.busy)),
        p50: median(of((p) => p.busy.respondToCompleted.p50)),
        p99: busyP99,
        floor: { label: 'the same turns, no crowd', value: median(of((p) => rate(p.quiet))), unit: 'turns/s', runs: of((p) => rate(p.quiet)) },
        ratio: median(of((p) => rate(p.busy))) / median(of((p) => rate(p.quiet))),
        target: { text: `p99 ≤ 2 × quiet (${(2 * quietP99).toFixed(1)} ms)`, met: busyP99 <= 2 * quietP99 && unfinished === 0 },
        note:
          `quiet p50 ${median(of((p) => p.quiet.respondToCompleted.p50)).toFixed(2)} ms, p99 ${quietP99.toFixed(2)} ms; p50/p99: respond → run_completed` +
          (unfinished > 0 ? `; ${unfinished} turns UNFINISHED` : '') +
          `; the steady readers' tokens, made → parsed: p50 ${median(of((p) => p.status.steadyLatency.p50)).toFixed(1)} ms, p99 ${median(of((p) => p.status.steadyLatency.p99)).toFixed(1)} ms`,
      },
      {
        scenario: '8',
        case: `non-readers cut by the server, of ${c.nonReaders}`,
        value: median(of((p) => p.nonReadersCut)),
        unit: 'cut',
        runs: of((p) => p.nonReadersCut),
        target: { text: 'no reading client cut', met: readersCut === 0 && otherCuts === 0 },
        note:
          `counted by the clients (a cut connection ends once read again); the server logged "${CUT_MESSAGE}" ${median(of((p) => p.logged.firehose))} times on the non-readers' sessions, ` +
          `the last ${median(of((p) => p.logged.lastAfterS)).toFixed(1)} s after the runs started; readers cut: ${readersCut}, other streams cut: ${otherCuts}` +
          (warnings ? `; all server warnings: ${warnings}` : ''),
      },
    ];
  });
}
