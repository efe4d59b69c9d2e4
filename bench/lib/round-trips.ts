/**
 * Round trips to PostgreSQL, counted inside a server process by wrapping its
 * store's pool: every statement of the store is one `pool.query` (one round
 * trip), and so is a command taken from the feed. A commit whose events are
 * all `token`s is counted apart, so turns can be compared without the tokens
 * an agent happens to stream. The feed's LISTEN connection only receives.
 */
import type { SessionEvent } from '../../dist/src/domain/events.js';
import type { PgStore } from '../../dist/src/storage/postgres/pg-store.js';

export interface RoundTrips {
  total: number;
  /** Commits that held only `token` events. */
  tokenCommits: number;
  /** Statements by name (`bamboo_commit`, …), for telling where they go. */
  byName: Record<string, number>;
}

/** The position of the events' texts among a commit's parameters (see statements.ts). */
const COMMIT_EVENTS = 10;

export function countRoundTrips(store: PgStore): { read(): RoundTrips; reset(): void } {
  let counts: RoundTrips = { total: 0, tokenCommits: 0, byName: {} };
  const pool = store.pool as unknown as { query: (...args: unknown[]) => unknown };
  const original = pool.query.bind(pool);
  pool.query = (config: unknown, ...rest: unknown[]) => {
    counts.total++;
    const { name, values } = (typeof config === 'object' && config !== null ? config : {}) as { name?: string; values?: unknown[] };
    const key = name ?? 'unnamed';
    counts.byName[key] = (counts.byName[key] ?? 0) + 1;
    if (name === 'bamboo_commit') {
      const texts = (values?.[COMMIT_EVENTS] ?? []) as string[];
      if (texts.length > 0 && texts.every((text) => (JSON.parse(text) as SessionEvent).type === 'token')) counts.tokenCommits++;
    }
    return original(config, ...rest);
  };
  return {
    read: () => structuredClone(counts),
    reset: () => {
      counts = { total: 0, tokenCommits: 0, byName: {} };
    },
  };
}
