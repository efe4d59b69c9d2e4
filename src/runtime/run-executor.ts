/**
 * Runs an agent for one run of a session: the implementation of the machine's
 * `agentRun` actor. The agent starts only once the run's start (and its lease)
 * is durable. Its reports become log events (fenced by run id), its result the
 * machine's normalised `RunEnd`; a throw becomes a failed `RunEnd`, never a
 * rejection, so every failure carries a real time.
 */
import type { Logger } from 'pino';
import { fromPromise } from 'xstate';
import type { RunEnd, RunInput } from '../../machines/session.machine.js';
import type { Agent, RunEvent, RunResult } from '../agents/agent.js';
import type { LogEvent } from '../domain/events.js';
import { newId, now } from '../domain/ids.js';
import type { Message } from '../domain/types.js';
import type { Store } from '../storage/store.js';
import type { SessionHost } from './session-host.js';

export const DEFAULT_TRANSCRIPT_WINDOW = 200;

export interface RunExecutorDeps {
  store: Store;
  agents: ReadonlyMap<string, Agent>;
  /** The live host of a session in this process. */
  host(sessionId: string): SessionHost | undefined;
  logger: Logger;
}

export function createRunActor(deps: RunExecutorDeps) {
  return fromPromise<RunEnd, RunInput>(async ({ input, signal }) => {
    // The actor starts inside the transition into `running`: yield once so that
    // transition is queued for storage before anything the run reports.
    await Promise.resolve();
    try {
      return await execute(deps, input, signal);
    } catch (error) {
      const end: RunEnd = { kind: 'failed', error: errorMessage(error), at: now() };
      // An aborted run's end is dropped by the machine; only real failures are worth a log line.
      if (!signal.aborted) {
        const agent = deps.host(input.sessionId)?.info.agent;
        deps.logger.warn({ session_id: input.sessionId, run_id: input.runId, agent, error: end.error }, 'run failed');
      }
      return end;
    }
  });
}

async function execute(deps: RunExecutorDeps, { sessionId, runId }: RunInput, signal: AbortSignal): Promise<RunEnd> {
  const host = deps.host(sessionId);
  if (!host || host.runId !== runId) throw new Error('The session is no longer hosted');
  const agent = deps.agents.get(host.info.agent);
  if (!agent) throw new Error(`No agent named "${host.info.agent}" is registered`);
  // The run's start and lease must be durable before any agent code runs.
  await host.settled();
  signal.throwIfAborted();
  const messages = await deps.store.readRecentMessages(sessionId, transcriptWindow(agent));
  const result = await agent.run({
    session: host.info,
    runId,
    messages,
    signal,
    emit: (event) => host.appendRunEvents(runId, [toLogEvent(event, runId)]),
  });
  signal.throwIfAborted();
  return toRunEnd(result, runId);
}

/** The agent's window if it is a whole number of at least one; otherwise the default (a window of 0 or less would read nothing, or everything). */
function transcriptWindow(agent: Agent): number {
  const window = agent.transcriptWindow;
  return typeof window === 'number' && Number.isInteger(window) && window >= 1 ? window : DEFAULT_TRANSCRIPT_WINDOW;
}

function toLogEvent(event: RunEvent, run_id: string): LogEvent {
  const at = now();
  if (event.type !== 'message_appended') return { ...event, at, run_id };
  const message: Message = { id: newId('msg'), ...event.message, created_at: at, run_id };
  return { type: 'message_appended', at, run_id, message };
}

/** Agents are user code: check what they return before the machine sees it. */
function toRunEnd(result: RunResult, runId: string): RunEnd {
  const at = now();
  if (result?.kind === 'completed' && typeof result.message === 'string') {
    return { kind: 'completed', message: { id: newId('msg'), role: 'assistant', content: result.message, created_at: at, run_id: runId } };
  }
  if (result?.kind === 'awaitingUser' && typeof result.question?.text === 'string') {
    const { id, text, options, allow_custom } = result.question;
    const choices = options?.filter((option) => typeof option === 'string');
    const hasChoices = choices !== undefined && choices.length > 0;
    return {
      kind: 'awaitingUser',
      question: {
        id: id ?? newId('q'),
        text,
        ...(hasChoices ? { options: choices } : {}),
        // Without options only a custom answer is possible.
        allow_custom: hasChoices ? (allow_custom ?? false) : true,
        asked_at: at,
      },
    };
  }
  throw new Error('The agent returned an invalid result');
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  return 'The agent failed';
}
