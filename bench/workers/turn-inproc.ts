/**
 * Scenario 3, in-process: the human-in-the-loop turn driven straight through
 * SessionRuntime on a SQLite file (no HTTP), or, as the floor, through the
 * bare session machine (createActor, a trivial agentRun, no storage). Each of
 * `concurrency` loops runs turns for `durationMs`; one process per mode.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor, fromPromise, waitFor } from 'xstate';
import { type RunEnd, type RunInput, sessionMachine } from '../../dist/machines/session.machine.js';
import { createDemoAgent } from '../../dist/src/agents/demo.js';
import { newId, newSessionId, now } from '../../dist/src/domain/ids.js';
import type { SessionEvent } from '../../dist/src/domain/events.js';
import { createRuntime, type SessionRuntime } from '../../dist/src/runtime/runtime.js';
import { SqliteStore } from '../../dist/src/storage/sqlite/sqlite-store.js';
import { STEP_TIMEOUT_MS, within } from '../lib/deadline.js';
import { serve } from '../lib/serve.js';
import { type LatencySummary, Samples } from '../lib/stats.js';

export type TurnMode = 'runtime' | 'bare';

export interface TurnInput {
  concurrency: number;
  durationMs: number;
}

export interface TurnResult {
  turns: number;
  /** Turns whose run was recorded `run_interrupted` (left out of `turns` and the latencies). */
  interrupted: number;
  /** What the first interrupted turn saw. */
  firstInterrupted?: string;
  elapsedMs: number;
  respondToCompleted: LatencySummary;
}

type Turn = () => Promise<number>;

/** The runtime recorded the turn's run as interrupted: the turn ends without a reply. */
class RunInterrupted extends Error {}

// ---- through the runtime --------------------------------------------------

let dir: string | undefined;
let runtime: SessionRuntime | undefined;

async function openRuntime(): Promise<SessionRuntime> {
  dir = mkdtempSync(join(tmpdir(), 'bamboo-bench-'));
  const store = new SqliteStore(join(dir, 'bamboo.db'));
  runtime = createRuntime({ store, agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo' });
  await runtime.start();
  return runtime;
}

function runtimeTurn(rt: SessionRuntime): Turn {
  return async () => {
    const session = await rt.createSession();
    const seen: string[] = [];
    // Subscribed before the message, so no event can slip by.
    let wanted: ((event: SessionEvent) => boolean) | null = null;
    let found: (event: SessionEvent) => void = () => undefined;
    const next = (what: string, match: (event: SessionEvent) => boolean) =>
      within(
        new Promise<SessionEvent>((resolve) => {
          wanted = match;
          found = resolve;
        }),
        STEP_TIMEOUT_MS,
        () => `session ${session.id}: no ${what} within ${STEP_TIMEOUT_MS} ms; events seen: ${seen.join(', ')}`,
      );
    const { unsubscribe } = await rt.subscribe(session.id, {
      deliver: ({ event }) => {
        seen.push(event.type === 'state_changed' ? `state_changed→${String(event.to)}` : event.type);
        if (wanted?.(event)) {
          wanted = null;
          found(event);
        }
      },
      end: () => undefined,
    });
    try {
      const asked = next('question_asked', (event) => event.type === 'question_asked' || event.type === 'run_interrupted');
      await rt.appendMessage(session.id, '/ask Pick | a | b');
      const event = await asked;
      if (event.type === 'run_interrupted') throw new RunInterrupted(`session ${session.id}: run interrupted; events seen: ${seen.join(', ')}`);
      if (event.type !== 'question_asked') throw new Error(`expected question_asked, got ${event.type}`);
      const { question } = event;
      const completed = next('run_completed', (event) => event.type === 'run_completed' || event.type === 'run_interrupted');
      const respondAt = performance.now();
      await rt.respond(session.id, question.id, 'a');
      if ((await completed).type === 'run_interrupted') throw new RunInterrupted(`session ${session.id}: run interrupted; events seen: ${seen.join(', ')}`);
      return performance.now() - respondAt;
    } finally {
      unsubscribe();
    }
  };
}

// ---- the bare machine (floor) ---------------------------------------------

// The run's id says which half of the turn it is: the first run (`ask_…`) asks, the second (`run_…`) replies.
const bareLogic = sessionMachine.provide({
  actors: {
    agentRun: fromPromise<RunEnd, RunInput>(async ({ input }) => {
      const at = now();
      return input.runId.startsWith('ask_')
        ? { kind: 'awaitingUser', question: { id: newId('q'), text: 'Pick', options: ['a', 'b'], allow_custom: false, asked_at: at } }
        : { kind: 'completed', message: { id: newId('msg'), role: 'assistant', content: 'You answered: a', created_at: at, run_id: input.runId } };
    }),
  },
});

const bareTurn: Turn = async () => {
  const actor = createActor(bareLogic, { input: { sessionId: newSessionId() } });
  actor.start();
  try {
    actor.send({ type: 'message.append', message: { id: newId('msg'), role: 'user', content: '/ask Pick | a | b', created_at: now() } });
    actor.send({ type: 'resume', runId: `ask_${newId('run')}`, at: now() });
    const asked = await waitFor(actor, (snapshot) => snapshot.value === 'awaitingUser', { timeout: STEP_TIMEOUT_MS });
    const respondAt = performance.now();
    actor.send({ type: 'question.answer', questionId: asked.context.pendingQuestion!.id, answer: 'a', messageId: newId('msg'), at: now() });
    actor.send({ type: 'resume', runId: newId('run'), at: now() });
    await waitFor(actor, (snapshot) => snapshot.value === 'completed', { timeout: STEP_TIMEOUT_MS });
    return performance.now() - respondAt;
  } finally {
    actor.stop();
  }
};

// ---- driver ---------------------------------------------------------------

let turn: Turn | undefined;

async function drive(run: Turn, { concurrency, durationMs }: TurnInput): Promise<TurnResult> {
  const latencies = new Samples();
  let turns = 0;
  let interrupted = 0;
  let firstInterrupted: string | undefined;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          latencies.push(await run());
          turns++;
        } catch (error) {
          if (!(error instanceof RunInterrupted)) throw error;
          interrupted++;
          firstInterrupted ??= error.message;
        }
      }
    }),
  );
  return { turns, interrupted, firstInterrupted, elapsedMs: performance.now() - start, respondToCompleted: latencies.summary() };
}

const api = {
  async open(mode: TurnMode): Promise<void> {
    turn = mode === 'runtime' ? runtimeTurn(await openRuntime()) : bareTurn;
  },
  async run(input: TurnInput): Promise<TurnResult> {
    if (!turn) throw new Error('open first');
    return drive(turn, input);
  },
};
export type TurnInprocApi = typeof api;

serve(api, async () => {
  await runtime?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
