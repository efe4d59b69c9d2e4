/**
 * Counts of stored sessions by state, kept in memory so metrics never scan the
 * table. Seeded from storage at start, then moved by every durable change.
 */
import { createStore } from '@xstate/store';
import type { SessionState } from '../domain/types.js';
import { SESSION_STATES } from '../domain/types.js';

export type StateCounts = Record<SessionState, number>;

export function emptyCounts(): StateCounts {
  return Object.fromEntries(SESSION_STATES.map((state) => [state, 0])) as StateCounts;
}

export function createSessionIndex(initial: StateCounts = emptyCounts()) {
  return createStore({
    context: { counts: initial },
    on: {
      seeded: (_context, event: { counts: StateCounts }) => ({ counts: { ...event.counts } }),
      /** A session entered `to` from `from`; either may be absent (created, deleted). */
      moved: (context, event: { from?: SessionState; to?: SessionState }) => {
        const counts = { ...context.counts };
        if (event.from) counts[event.from] = Math.max(0, counts[event.from] - 1);
        if (event.to) counts[event.to] += 1;
        return { counts };
      },
    },
  });
}

export type SessionIndex = ReturnType<typeof createSessionIndex>;
