/**
 * What every use case works with, and the one loop by which a command reaches
 * a session: find its host, apply the command, and let the answer stand only
 * once it is durable (or, when it wrote nothing, once the host is known to be
 * current). A lost race with another process reloads the session and applies
 * the command again; it never fails the session or the other process's run.
 */
import type { Logger } from 'pino';
import type { Agent } from '../../agents/agent.js';
import { SessionError, sessionNotFound } from '../../domain/errors.js';
import type { Store } from '../../storage/store.js';
import { TooManyRuns, VersionConflict } from '../../storage/store.js';
import type { EventBus } from '../event-bus.js';
import type { EventFeed } from '../ports.js';
import type { SessionRegistry } from '../registry.js';
import type { SessionHost } from '../session-host.js';
import type { Quotas } from '../quotas.js';
import type { SessionIndex } from '../session-index.js';

export interface RuntimeContext {
  store: Store;
  registry: SessionRegistry;
  bus: EventBus;
  index: SessionIndex;
  feed: EventFeed | null;
  agents: ReadonlyMap<string, Agent>;
  defaultAgent: string;
  instanceId: string;
  /** Messages a session may have queued. */
  maxQueued: number;
  quotas: Quotas;
  logger: Logger;
  isClosing(): boolean;
  /** Keeps the session's queue from moving for `ms`: a message from another instance is to run first. */
  holdQueue(id: string, ms: number): void;
}

/** Any tenant: recovery and shutdown act for the server itself. */
export const SYSTEM = Symbol('system');
export type Tenant = string | typeof SYSTEM;

/** Races lost in a row before a command gives up with `unavailable`. */
const MAX_ATTEMPTS = 20;

export function assertOpen(ctx: RuntimeContext): void {
  if (ctx.isClosing()) throw new SessionError('unavailable', 'The server is shutting down');
}

/** The session's live host if `tenant` may see it; null otherwise, as if it did not exist. */
export async function hostFor(ctx: RuntimeContext, tenant: Tenant, id: string): Promise<SessionHost | null> {
  const host = await ctx.registry.get(id);
  if (!host || (tenant !== SYSTEM && host.info.tenant !== tenant)) return null;
  return host;
}

/**
 * Applies `command` to the session `id`. `command` must send its events
 * synchronously; it may throw the machine's rejection. Throws
 * `session_not_found` when the session does not exist for `tenant`.
 */
export async function onSession<T>(ctx: RuntimeContext, tenant: Tenant, id: string, command: (host: SessionHost) => T): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    assertOpen(ctx);
    const host = await hostFor(ctx, tenant, id);
    if (!host) throw sessionNotFound(id);
    // Passivated between being found and being used: fetch it again (a bounded number of times, like any lost race).
    if (host.isStopped) {
      if (attempt >= MAX_ATTEMPTS) throw new SessionError('unavailable', 'The session is changing too fast; try again');
      continue;
    }
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: command(host) };
    } catch (error) {
      outcome = { error };
    }
    const wrote = host.hasPendingWrite;
    try {
      await host.settled();
      if (!wrote && !(await isCurrent(ctx, host))) throw new VersionConflict(id, host.durable.version);
    } catch (error) {
      if (error instanceof TooManyRuns) {
        ctx.registry.evict(host);
        throw new SessionError('too_many_runs', `The tenant already has ${error.limit} runs in progress; wait for one to end`, { limit: error.limit });
      }
      if (!(error instanceof VersionConflict)) throw error;
      ctx.registry.evict(host);
      if (attempt >= MAX_ATTEMPTS) throw new SessionError('unavailable', 'The session is changing too fast; try again');
      continue;
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }
}

/**
 * A host may answer without writing only if what it holds is current. With one
 * process it always is; with several, only while its run executes here (every
 * other process then leaves the session to it), or if storage says so.
 */
async function isCurrent(ctx: RuntimeContext, host: SessionHost): Promise<boolean> {
  if (!ctx.store.shared || host.hasLiveRun) return true;
  return (await ctx.store.sessionVersion(host.id)) === host.durable.version;
}
