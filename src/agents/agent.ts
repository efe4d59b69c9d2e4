/**
 * The agent port. An agent is one function: it gets the session, a window of
 * its transcript, an AbortSignal and `emit`, and returns a reply or a question.
 * Field names follow the API and the log (`tool_call_id`, `allow_custom`).
 */
import type { Message, Question, SessionInfo, ToolCall } from '../domain/types.js';

/** What an agent may report while it runs; each becomes an event in the session's log. */
export type RunEvent =
  | { type: 'token'; text: string }
  | { type: 'tool_started'; tool_call_id: string; name: string; arguments: string }
  | { type: 'tool_completed'; tool_call_id: string; result: string }
  | {
      type: 'message_appended';
      message: { role: 'assistant' | 'tool'; content: string; tool_calls?: ToolCall[]; tool_call_id?: string };
    };

export interface RunContext {
  session: SessionInfo;
  runId: string;
  /** The transcript's latest messages, oldest first (see `Agent.transcriptWindow`). */
  messages: readonly Message[];
  /** Aborted when the run is cancelled, the session deleted or the server stops. */
  signal: AbortSignal;
  /** Appends to the durable log; resolves once it is stored. Ignored after the run has ended. */
  emit(event: RunEvent): Promise<void>;
}

/**
 * A question as an agent asks it. The runtime fills in what is missing: a
 * fresh `q_…` id, `allow_custom` (true when there are no options, else false)
 * and the time it was asked.
 */
export type QuestionDraft = Pick<Question, 'text' | 'options'> & Partial<Pick<Question, 'id' | 'allow_custom'>>;

/** How an agent's run ends. A thrown error fails the run. */
export type RunResult = { kind: 'completed'; message: string } | { kind: 'awaitingUser'; question: QuestionDraft };

/** The port every agent implements. */
export interface Agent {
  run(ctx: RunContext): Promise<RunResult>;
  /** How many of the latest messages a run gets: a whole number of at least 1. Default 200 (also for any other value). */
  transcriptWindow?: number;
}

/** The longest one timer waits; Node fires a longer one after 1 ms, with a warning. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms` (however long: a longer wait is several timers in turn), or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const until = performance.now() + ms;
    let timer: NodeJS.Timeout;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const wait = () => {
      const left = until - performance.now();
      if (left > LONGEST_TIMER_MS) {
        timer = setTimeout(wait, LONGEST_TIMER_MS);
        return;
      }
      timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, left));
    };
    wait();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
