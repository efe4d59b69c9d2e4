/**
 * The persisted form of a session actor: our own envelope around the state
 * value and context, never XState's internal snapshot format, which has
 * changed between minor versions. Hydration rebuilds the snapshot with
 * `machine.resolveState`. Older versions are upgraded as they are read.
 */
import type { SessionContext } from '../../machines/session.machine.js';
import type { SessionState } from '../domain/types.js';
import { SESSION_STATES } from '../domain/types.js';

export const SNAPSHOT_SCHEMA_VERSION = 2;

export interface PersistedSession {
  schema_version: typeof SNAPSHOT_SCHEMA_VERSION;
  state: SessionState;
  context: SessionContext;
}

/** What each version added to the context, applied in order to bring an old snapshot up to date. */
const UPGRADES: Record<number, (context: Record<string, unknown>) => Record<string, unknown>> = {
  // 2: the queue of messages for later, and the ids of the unanswered turn.
  1: (context) => ({ ...context, queue: [], turn: [] }),
};

export function encodeSnapshot(state: SessionState, context: SessionContext): string {
  return JSON.stringify({ schema_version: SNAPSHOT_SCHEMA_VERSION, state, context } satisfies PersistedSession);
}

export function decodeSnapshot(data: string): PersistedSession {
  const parsed = JSON.parse(data) as { schema_version?: unknown; state?: unknown; context?: unknown };
  let version = parsed.schema_version;
  if (typeof version !== 'number' || version < 1 || version > SNAPSHOT_SCHEMA_VERSION) {
    throw new Error(`Unsupported session snapshot schema_version ${String(version)}`);
  }
  if (!SESSION_STATES.includes(parsed.state as SessionState) || typeof parsed.context !== 'object' || parsed.context === null) {
    throw new Error('Malformed session snapshot');
  }
  let context = parsed.context as Record<string, unknown>;
  for (; version < SNAPSHOT_SCHEMA_VERSION; version++) context = UPGRADES[version]!(context);
  return { schema_version: SNAPSHOT_SCHEMA_VERSION, state: parsed.state as SessionState, context: context as unknown as SessionContext };
}
