/**
 * Scenario 7's count of round trips to PostgreSQL per human-in-the-loop turn,
 * driven one turn at a time from the parent so the servers' counters can be
 * read between the steps: create the session and open its stream on `home`
 * (counted apart), then post the message and the answer to `other` and wait
 * for the session to be `completed` on the stream. Statements of every
 * instance are summed; commits of `token` events alone are left out. The
 * median over `turns` keeps a lease renewal or a recovery sweep that happens
 * to fall inside one turn out of the figure.
 */
import type { BambooProcess } from '../lib/bamboo-process.js';
import { STEP_TIMEOUT_MS, within } from '../lib/deadline.js';
import { JsonClient } from '../lib/http-client.js';
import type { RoundTrips } from '../lib/round-trips.js';
import { openSse, type SseFrame } from '../lib/sse-client.js';
import { median } from '../lib/stats.js';

const API = '/api/v1';
/** After the stream opened, how long its replay may take to finish reading the log. */
const SETTLE_MS = 50;

export interface TurnCount {
  /** Statements of the turn (message → completed), token commits excluded. */
  turn: number;
  /** Token-only commits in the turn. */
  tokenCommits: number;
  /** Statements to create the session and open its stream. */
  setup: number;
  /** The turn's statements by name, for one turn with the median count. */
  byName: Record<string, number>;
  /** Turns whose run was interrupted, and done again. */
  interrupted: number;
}

async function sum(servers: readonly BambooProcess[]): Promise<RoundTrips> {
  const all: RoundTrips = { total: 0, tokenCommits: 0, byName: {} };
  for (const counts of await Promise.all(servers.map((server) => server.child.call('roundTrips')))) {
    all.total += counts.total;
    all.tokenCommits += counts.tokenCommits;
    for (const [name, n] of Object.entries(counts.byName)) all.byName[name] = (all.byName[name] ?? 0) + n;
  }
  return all;
}

const reset = (servers: readonly BambooProcess[]) => Promise.all(servers.map((server) => server.child.call('resetRoundTrips')));

/** The turn's run was recorded interrupted: the turn is counted again. */
class Interrupted extends Error {}

/** Waits until a frame matching `match` was seen. */
function seen(frames: SseFrame[], what: string, match: (frame: SseFrame) => boolean): Promise<SseFrame> {
  return within(
    (async () => {
      for (;;) {
        const found = frames.find(match);
        if (found) return found;
        if (frames.some((frame) => frame.event === 'run_interrupted')) throw new Interrupted(`run interrupted before ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })(),
    STEP_TIMEOUT_MS,
    () => `no ${what} on the stream within ${STEP_TIMEOUT_MS} ms; events seen: ${frames.map((frame) => frame.event).join(', ')}`,
  );
}

async function oneTurn(servers: readonly BambooProcess[], home: JsonClient, other: JsonClient): Promise<{ setup: RoundTrips; turn: RoundTrips }> {
  await reset(servers);
  const { session } = await home.expect<{ session: { id: string } }>(201, 'POST', `${API}/sessions`, {});
  const frames: SseFrame[] = [];
  const stream = openSse(`${home.baseUrl}${API}/sessions/${session.id}/events?after=0`, (batch) => frames.push(...batch));
  try {
    await seen(frames, 'session_created', (frame) => frame.event === 'session_created');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const setup = await sum(servers);
    await reset(servers);
    await other.expect(202, 'POST', `${API}/sessions/${session.id}/messages`, { content: '/ask Pick | a | b' });
    const asked = await seen(frames, 'question_asked', (frame) => frame.event === 'question_asked');
    await seen(frames, 'awaitingUser', (frame) => frame.event === 'state_changed' && frame.data.includes('"to":"awaitingUser"'));
    const question = (JSON.parse(asked.data) as { question: { id: string } }).question.id;
    await other.expect(202, 'POST', `${API}/sessions/${session.id}/respond`, { question_id: question, answer: 'a' });
    await seen(frames, 'completed', (frame) => frame.event === 'state_changed' && frame.data.includes('"to":"completed"'));
    return { setup, turn: await sum(servers) };
  } finally {
    stream.close();
  }
}

/** `turns` turns one after another; `urls[0]` is home, the last URL takes the message and the answer. */
export async function countTurns(servers: readonly BambooProcess[], urls: readonly string[], turns: number): Promise<TurnCount> {
  const home = new JsonClient(urls[0]);
  const other = new JsonClient(urls.at(-1)!);
  try {
    const counted: { setup: RoundTrips; turn: RoundTrips }[] = [];
    let interrupted = 0;
    while (counted.length < turns) {
      try {
        counted.push(await oneTurn(servers, home, other));
      } catch (error) {
        if (!(error instanceof Interrupted) || ++interrupted > turns) throw error;
      }
    }
    const turnCounts = counted.map(({ turn }) => turn.total - turn.tokenCommits);
    const typical = median(turnCounts);
    return {
      turn: typical,
      tokenCommits: median(counted.map(({ turn }) => turn.tokenCommits)),
      setup: median(counted.map(({ setup }) => setup.total)),
      byName: counted.find(({ turn }) => turn.total - turn.tokenCommits === Math.round(typical))?.turn.byName ?? counted[0].turn.byName,
      interrupted,
    };
  } finally {
    home.close();
    other.close();
  }
}

/** `{ bamboo_commit: 5, … }` as `commit 5, …`. */
export function describeStatements(byName: Record<string, number>): string {
  return Object.entries(byName)
    .sort(([, a], [, b]) => b - a)
    .map(([name, n]) => `${name.replace(/^bamboo_/, '')} ${n}`)
    .join(', ');
}
