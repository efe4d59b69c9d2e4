/**
 * Scenario 1: `POST /resume` on a session with nothing to do, under autocannon
 * (100 connections), next to a bare Express 5 endpoint with the same settings.
 * Runs alternate between the two servers so drift hits both alike.
 */
import autocannon from 'autocannon';
import { BambooProcess, logNote } from '../lib/bamboo-process.js';
import { Child, withChildren } from '../lib/child.js';
import { JsonClient } from '../lib/http-client.js';
import type { Row } from '../lib/report.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import type { ExpressFloorApi } from '../servers/express-floor.js';

export interface Load {
  rps: number;
  p99: number;
  requests: number;
}

export async function load(url: string, connections: number, durationS: number): Promise<Load> {
  const result = await autocannon({ url, method: 'POST', connections, duration: durationS });
  const failures = result.errors + result.non2xx;
  if (failures > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
  return { rps: result['2xx'] / result.duration, p99: result.latency.p99, requests: result['2xx'] };
}

/** A session with nothing to do, and the URL of its resume. */
export async function idleSessionResumeUrl(url: string): Promise<string> {
  const client = new JsonClient(url);
  try {
    const { session } = await client.expect<{ session: { id: string } }>(201, 'POST', '/api/v1/sessions', {});
    const check = await client.expect<{ outcome: string }>(200, 'POST', `/api/v1/sessions/${session.id}/resume`);
    if (check.outcome !== 'Completed') throw new Error(`resume answered ${check.outcome}`);
    return `${url}/api/v1/sessions/${session.id}/resume`;
  } finally {
    client.close();
  }
}

export async function resumeHttp(s: Settings): Promise<Row[]> {
  const bamboo = BambooProcess.launch();
  const floor = Child.start<ExpressFloorApi>('servers/express-floor.ts');
  return withChildren([bamboo.child, floor], async () => {
    const [url, { url: floorUrl }] = await Promise.all([bamboo.start(), floor.call('start')]);
    const target = await idleSessionResumeUrl(url);
    const floorTarget = `${floorUrl}/resume`;
    const { connections, durationS, warmUpS } = s.s1;
    if (warmUpS > 0) await Promise.all([load(target, connections, warmUpS), load(floorTarget, connections, warmUpS)].map((p) => p.catch(() => undefined)));

    const runs: Load[] = [];
    const floorRuns: Load[] = [];
    let logged = 0;
    for (let i = 0; i < s.runs; i++) {
      const before = bamboo.logBytes();
      runs.push(await load(target, connections, durationS));
      logged += bamboo.logBytes() - before;
      floorRuns.push(await load(floorTarget, connections, durationS));
    }
    const requests = runs.reduce((sum, run) => sum + run.requests, 0);
    const rps = median(runs.map((run) => run.rps));
    const floorRps = median(floorRuns.map((run) => run.rps));
    const ratio = rps / floorRps;
    return [
      {
        scenario: '1',
        case: `POST /resume, nothing to do, ${connections} conns × ${durationS} s`,
        value: rps,
        unit: 'req/s',
        runs: runs.map((run) => run.rps),
        p99: median(runs.map((run) => run.p99)),
        floor: { label: 'bare Express 5', value: floorRps, unit: 'req/s', runs: floorRuns.map((run) => run.rps) },
        ratio,
        target: { text: '≥ 70 % of bare Express', met: ratio >= 0.7 },
        compare: { measure: `POST /resume, ${connections} connections`, setup: 'sqlite' },
        note: `bare Express p99 ${median(floorRuns.map((run) => run.p99))} ms (autocannon latency, ms resolution); ${logNote(logged, requests, 'request')}`,
      },
    ];
  });
}
