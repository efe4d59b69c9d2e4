import type { Message, SessionInfo, ToolCall } from '../domain/types.js';

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
  /** The transcript, oldest first. */
  messages: readonly Message[];
  /** Aborted when the run is cancelled, the session deleted or the server stops. */
  signal: AbortSignal;
  /** Appends to the durable log; resolves once it is stored. Ignored after the run has ended. */
  emit(event: RunEvent): Promise<void>;
}

export interface AskedQuestion {
  /** Defaults to a fresh `q_…` id. */
  id?: string;
  text: string;
  options?: string[];
  /** Defaults to true when there are no options. */
  allowCustom?: boolean;
}

export type RunResult = { kind: 'completed'; message: string } | { kind: 'awaitingUser'; question: AskedQuestion };

/** The port every agent implements. A thrown error fails the run. */
export interface Agent {
  run(ctx: RunContext): Promise<RunResult>;
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
