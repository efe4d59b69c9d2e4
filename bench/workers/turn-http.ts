/**
 * Scenario 2's clients (and 7's and 8's): each loops full human-in-the-loop
 * turns over HTTP for a fixed time. A turn: create a session, open its event
 * stream (`?after=0`), post `/ask Pick | a | b`, wait on the stream for the
 * session to be `awaitingUser`, post the answer, wait on the stream for
 * `run_completed`. The latency kept is respond → `run_completed` received.
 *
 * With several base URLs (instances sharing one database), client k creates
 * its sessions and reads their streams on instance k mod n and posts the
 * message and the answer to the next one, so every turn crosses instances.
 */
import { STEP_TIMEOUT_MS, within } from '../lib/deadline.js';
import { JsonClient } from '../lib/http-client.js';
import { serve } from '../lib/serve.js';
import { openSse, type SseFrame } from '../lib/sse-client.js';
import { type LatencySummary, Samples } from '../lib/stats.js';

export interface TurnHttpInput {
  /** One base URL, or several instances of one database. */
  urls: string[];
  clients: number;
  durationMs: number;
  /**
   * A turn that makes no progress for this long (no question, no reply) is
   * abandoned and counted apart, so one stuck session costs the run this
   * long, not the server's lease and recovery times. Default: the step timeout
   * (then a stuck turn fails the scenario).
   */
  abandonAfterMs?: number;
  /** Delete each session once its turn is done, so the server's live sessions do not pile up. */
  deleteSessions?: boolean;
}

export interface TurnHttpResult {
  /** Turns completed. */
  turns: number;
  /** Turns whose run was recorded `run_interrupted` (not counted in `turns` nor in the latencies). */
  interrupted: number;
  /** Turns abandoned after `abandonAfterMs` without progress (likewise left out). */
  abandoned: number;
  /** What the first unfinished turn saw, for the row's note. */
  firstUnfinished?: string;
  elapsedMs: number;
  respondToCompleted: LatencySummary;
}

/** The server recorded the turn's run as interrupted (shutdown, or a lost lease): the turn is over without a reply. */
class RunInterrupted extends Error {}

/** No progress within `abandonAfterMs`. */
class TurnAbandoned extends Error {}

const API = '/api/v1';

interface SessionBody {
  session: { id: string };
}

/** Resolves when a frame satisfies `match`, with that frame. */
class FrameWaiter {
  constructor(private readonly sessionId: string) {}

  private waiting: { match: (frame: SseFrame) => boolean; resolve: (frame: SseFrame) => void } | null = null;
  private readonly seen: SseFrame[] = [];

  push(frames: SseFrame[]): void {
    for (const frame of frames) {
      this.log.push(frame.event);
      if (this.waiting?.match(frame)) {
        const { resolve } = this.waiting;
        this.waiting = null;
        resolve(frame);
      } else {
        this.seen.push(frame);
      }
    }
  }

  /** Every event type received, for the error message of a stuck turn. */
  readonly log: string[] = [];

  /** The next frame that satisfies `match`; rejects with `RunInterrupted` if the run is recorded interrupted first. */
  async next(what: string, wanted: (frame: SseFrame) => boolean, failed: Promise<Error | null>, abandonAfterMs: number): Promise<SseFrame> {
    const match = (frame: SseFrame) => wanted(frame) || frame.event === 'run_interrupted';
    const index = this.seen.findIndex(match);
    let frame: SseFrame;
    if (index !== -1) {
      frame = this.seen.splice(0, index + 1)[index];
    } else {
      this.seen.length = 0;
      const arrived = Promise.race([
        new Promise<SseFrame>((resolve) => (this.waiting = { match, resolve })),
        failed.then((error) => Promise.reject(error ?? new Error('The event stream ended early'))),
      ]);
      frame = await within(
        arrived,
        abandonAfterMs,
        () => `session ${this.sessionId}: no ${what} on the stream within ${abandonAfterMs} ms; events seen: ${this.log.join(', ')}`,
        (message) => (abandonAfterMs < STEP_TIMEOUT_MS ? new TurnAbandoned(message) : new Error(message)),
      );
    }
    if (!wanted(frame)) throw new RunInterrupted(`session ${this.sessionId}: run interrupted while waiting for ${what}: ${frame.data}`);
    return frame;
  }
}

/** `home` creates the session and serves its stream; `other` takes the message and the answer. */
async function turn(home: JsonClient, other: JsonClient, abandonAfterMs: number, deleteSession: boolean): Promise<number> {
  const { session } = await home.expect<SessionBody>(201, 'POST', `${API}/sessions`, {});
  const frames = new FrameWaiter(session.id);
  let question = '';
  const stream = openSse(`${home.baseUrl}${API}/sessions/${session.id}/events?after=0`, (batch) => frames.push(batch));
  try {
    await other.expect(202, 'POST', `${API}/sessions/${session.id}/messages`, { content: '/ask Pick | a | b' });
    const asked = await frames.next('question_asked', (frame) => frame.event === 'question_asked', stream.closed, abandonAfterMs);
    question = (JSON.parse(asked.data) as { question: { id: string } }).question.id;
    await frames.next('awaitingUser', (frame) => frame.event === 'state_changed' && frame.data.includes('"to":"awaitingUser"'), stream.closed, abandonAfterMs);
    const respondAt = performance.now();
    await other.expect(202, 'POST', `${API}/sessions/${session.id}/respond`, { question_id: question, answer: 'a' });
    await frames.next('run_completed', (frame) => frame.event === 'run_completed', stream.closed, abandonAfterMs);
    const latency = performance.now() - respondAt;
    stream.close();
    if (deleteSession) await home.expect(204, 'DELETE', `${API}/sessions/${session.id}`);
    return latency;
  } finally {
    stream.close();
  }
}

const api = {
  async run({ urls, clients, durationMs, abandonAfterMs = STEP_TIMEOUT_MS, deleteSessions = false }: TurnHttpInput): Promise<TurnHttpResult> {
    const instances = urls.map((url) => new JsonClient(url));
    const latencies = new Samples();
    let turns = 0;
    let interrupted = 0;
    let abandoned = 0;
    let firstUnfinished: string | undefined;
    const start = performance.now();
    const deadline = start + durationMs;
    try {
      await Promise.all(
        Array.from({ length: clients }, async (_, k) => {
          const home = instances[k % instances.length];
          const other = instances[(k + 1) % instances.length];
          while (performance.now() < deadline) {
            try {
              latencies.push(await turn(home, other, abandonAfterMs, deleteSessions));
              turns++;
            } catch (error) {
              if (error instanceof RunInterrupted) interrupted++;
              else if (error instanceof TurnAbandoned) abandoned++;
              else throw error;
              firstUnfinished ??= error.message;
            }
          }
        }),
      );
    } finally {
      for (const instance of instances) instance.close();
    }
    const elapsedMs = performance.now() - start;
    if (turns === 0 && interrupted + abandoned > 0) throw new Error(`no turn completed: ${interrupted} interrupted, ${abandoned} abandoned after ${abandonAfterMs} ms`);
    return { turns, interrupted, abandoned, firstUnfinished, elapsedMs, respondToCompleted: latencies.summary() };
  },
};
export type TurnHttpApi = typeof api;

serve(api);
