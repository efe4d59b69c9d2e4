/**
 * Runs an agent for one run of a session: the implementation of the machine's
 * `agentRun` actor. It turns the agent's reports into log events (fenced by
 * run id) and its result into the machine's normalised `RunOutcome`; any
 * throw becomes a `RunFailure`, which the machine records as a failed run.
 */
import { fromPromise } from 'xstate';
import type { RunFailure, RunInput, RunOutcome } from '../../machines/session.machine.js';
import type { Agent, RunEvent, RunResult } from '../agents/agent.js';
import { newId, now } from '../domain/ids.js';
import type { Message, NewEvent } from '../domain/types.js';
import type { Store } from '../storage/store.js';
import type { SessionHost } from './session-host.js';

export interface RunExecutorDeps {
  store: Store;
  agents: ReadonlyMap<string, Agent>;
  host(sessionId: string): SessionHost | undefined;
}

export function createRunActor(deps: RunExecutorDeps) {
  return fromPromise<RunOutcome, RunInput>(async ({ input, signal }) => {
    // The actor starts inside the transition into `running`: yield once so that
    // transition is queued for storage before anything the run reports.
    await Promise.resolve();
    try {
      return await execute(deps, input, signal);
    } catch (error) {
      throw { message: errorMessage(error), at: now() } satisfies RunFailure;
    }
  });
}

async function execute(deps: RunExecutorDeps, { sessionId, runId }: RunInput, signal: AbortSignal): Promise<RunOutcome> {
  const host = deps.host(sessionId);
  if (!host) throw new Error('The session is no longer hosted');
  const agent = deps.agents.get(host.info.agent);
  if (!agent) throw new Error(`No agent named "${host.info.agent}" is registered`);
  await host.settled();
  const messages = await readTranscript(deps.store, sessionId);
  const result = await agent.run({
    session: host.info,
    runId,
    messages,
    signal,
    emit: (event) => host.appendRunEvents(runId, [toLogEvent(event, runId)]),
  });
  signal.throwIfAborted();
  return toOutcome(result, runId);
}

async function readTranscript(store: Store, sessionId: string): Promise<Message[]> {
  const messages: Message[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.readMessages(sessionId, { limit: 1000, cursor });
    messages.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return messages;
}

function toLogEvent(event: RunEvent, runId: string): NewEvent {
  const at = now();
  if (event.type !== 'message_appended') return { ...event, at, run_id: runId };
  const message: Message = { id: newId('msg'), ...event.message, created_at: at, run_id: runId };
  return { type: 'message_appended', at, run_id: runId, message };
}

/** Agents are user code: check what they return before the machine sees it. */
function toOutcome(result: RunResult, runId: string): RunOutcome {
  const at = now();
  if (result?.kind === 'completed' && typeof result.message === 'string') {
    return { kind: 'completed', message: { id: newId('msg'), role: 'assistant', content: result.message, created_at: at, run_id: runId } };
  }
  if (result?.kind === 'awaitingUser' && typeof result.question?.text === 'string') {
    const { id, text, options, allowCustom } = result.question;
    const choices = options?.filter((option) => typeof option === 'string');
    const hasChoices = choices !== undefined && choices.length > 0;
    return {
      kind: 'awaitingUser',
      question: {
        id: id ?? newId('q'),
        text,
        ...(hasChoices ? { options: choices } : {}),
        // Without options only a custom answer is possible.
        allow_custom: hasChoices ? (allowCustom ?? false) : true,
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
