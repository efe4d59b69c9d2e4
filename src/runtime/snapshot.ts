/**
 * The persisted form of a session actor: our own envelope around the state
 * value and context, never XState's internal snapshot format, which has
 * changed between minor versions. Hydration rebuilds the snapshot with
 * `machine.resolveState`.
 */
import type { SessionContext } from '../../machines/session.machine.js';
import type { SessionState } from '../domain/types.js';
import { SESSION_STATES } from '../domain/types.js';

export const SNAPSHOT_SCHEMA_VERSION = 1;

export interface PersistedSession {
  schema_version: typeof SNAPSHOT_SCHEMA_VERSION;
  state: SessionState;
  context: SessionContext;
}

export function encodeSnapshot(state: SessionState, context: SessionContext): string {
  return JSON.stringify({ schema_version: SNAPSHOT_SCHEMA_VERSION, state, context } satisfies PersistedSession);
}

export function decodeSnapshot(data: string): PersistedSession {
  const parsed = JSON.parse(data) as Partial<PersistedSession>;
  if (parsed.schema_version !== SNAPSHOT_SCHEMA_VERSION) {
    throw new Error(`Unsupported session snapshot schema_version ${String(parsed.schema_version)}`);
  }
  if (!SESSION_STATES.includes(parsed.state as SessionState) || typeof parsed.context !== 'object') {
    throw new Error('Malformed session snapshot');
  }
  return parsed as PersistedSession;
}
