/**
 * Scenario 5: SSE fan-out. One run of the bench agent emits tokens (each
 * awaited, so each is its own durable append) to 1, 100 and 1,000 real SSE
 * clients in another process. The floor is bare Express writing the same
 * frames to the same number of streams, yielding between tokens.
 */
import { BambooProcess } from '../lib/bamboo-process.js';
import { Child, withChildren } from '../lib/child.js';
import { JsonClient } from '../lib/http-client.js';
import { BENCH_AGENT, tokensCommand } from '../lib/bench-agent.js';
import type { Row } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import type { ExpressFloorApi } from '../servers/express-floor.js';
import type { CollectResult, SseSubscribersApi } from '../workers/sse-subscribers.js';

const rate = (result: CollectResult) => (result.delivered / result.spanMs) * 1000;

export async function fanout(s: Settings): Promise<Row[]> {
  const server = BambooProcess.launch();
  const floorServer = Child.start<ExpressFloorApi>('servers/express-floor.ts');
  const subscribers = Child.start<SseSubscribersApi>('workers/sse-subscribers.ts');
  return withChildren([server.child, floorServer, subscribers], async () => {
    const [url, { url: floorUrl }] = await Promise.all([server.start(), floorServer.call('start')]);
    const client = new JsonClient(url);
    const floorClient = new JsonClient(floorUrl);
    const tokens = s.s5.tokens;
    const timeoutMs = 120_000;

    const bambooRun = async (count: number): Promise<CollectResult> => {
      const { session } = await client.expect<{ session: { id: string } }>(201, 'POST', '/api/v1/sessions', { agent: BENCH_AGENT });
      await subscribers.call('connect', { url: `${url}/api/v1/sessions/${session.id}/events`, subscribers: count });
      try {
        await client.expect(202, 'POST', `/api/v1/sessions/${session.id}/messages`, { content: tokensCommand(tokens, 'await') });
        return await subscribers.call('collect', { tokens, timeoutMs });
      } finally {
        await subscribers.call('close');
        await client.request('DELETE', `/api/v1/sessions/${session.id}`);
      }
    };
    const floorRun = async (count: number): Promise<CollectResult> => {
      await subscribers.call('connect', { url: `${floorUrl}/events`, subscribers: count });
      try {
        await floorClient.expect(200, 'POST', `/fire?n=${tokens}`);
        return await subscribers.call('collect', { tokens, timeoutMs });
      } finally {
        await subscribers.call('close');
      }
    };

    try {
      await bambooRun(10);
      await floorRun(10);
      const rows: Row[] = [];
      for (const count of s.s5.subscribers) {
        const runs: CollectResult[] = [];
        const floorRuns: CollectResult[] = [];
        const repeats = count >= s.s5.oneRunFrom ? 1 : s.runs;
        for (let i = 0; i < repeats; i++) {
          runs.push(await bambooRun(count));
          floorRuns.push(await floorRun(count));
        }
        const value = median(runs.map(rate));
        const floorValue = median(floorRuns.map(rate));
        rows.push({
          scenario: '5',
          case: `SSE fan-out, 1 run × ${tokens} tokens → ${count} subscriber${count === 1 ? '' : 's'}`,
          value,
          unit: 'events/s',
          runs: runs.map(rate),
          p50: median(runs.map((run) => run.latency.p50)),
          p99: median(runs.map((run) => run.latency.p99)),
          floor: { label: 'bare Express SSE', value: floorValue, unit: 'events/s', runs: floorRuns.map(rate) },
          ratio: value / floorValue,
          target: count === 1000 ? { text: 'p99 ≤ 50 ms', met: median(runs.map((run) => run.latency.p99)) <= 50 } : undefined,
          compare: count <= 100 ? { measure: `SSE, 1 run × ${tokens} tokens → ${count} subscriber${count === 1 ? '' : 's'}`, setup: 'sqlite' } : undefined,
          note: `latency: token created by the agent → parsed by the client; bare Express SSE p50 ${median(floorRuns.map((run) => run.latency.p50)).toFixed(2)} ms, p99 ${median(floorRuns.map((run) => run.latency.p99)).toFixed(2)} ms`,
        });
      }
      return rows;
    } finally {
      client.close();
      floorClient.close();
    }
  });
}
