/**
 * The session runtime: the wiring of registry, hosts, bus, leases and
 * recovery around the use cases. Its public surface is the use cases (scoped
 * to a tenant), a subscription, and start/stop; nothing outside reaches into
 * its parts.
 */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import type { InspectionEvent, Observer } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.js';
import type { Agent } from '../agents/agent.js';
import type { SessionEvent } from '../domain/events.js';
import { newId, now } from '../domain/ids.js';
import type { AppendOutcome, RespondOutcome, ResumeOutcome, OutcomeOf } from '../domain/outcomes.js';
import type { Message, SessionState, SessionView } from '../domain/types.js';
import type { Store } from '../storage/store.js';
import { EventBus, type Subscriber } from './event-bus.js';
import { LeaseKeeper } from './leases.js';
import type { EventFeed } from './ports.js';
import { Quotas, type QuotaLimits } from './quotas.js';
import { Recovery } from './recovery.js';
import { Retention } from './retention.js';
import { StorageHealth, watchStorage } from './storage-health.js';
import { SessionRegistry } from './registry.js';
import { createRunActor } from './run-executor.js';
import { createSessionIndex, type SessionIndex, type StateCounts } from './session-index.js';
import type { WebhookRenderer } from './session-host.js';
import type { Change } from './session-writer.js';
import { cancelRun } from './use-cases/cancel-run.js';
import { obeyOwnerCommand } from './use-cases/owner.js';
import { QueueMover } from './queue-mover.js';
import { removeQueued } from './use-cases/multitask.js';
import { assertOpen, type RuntimeContext } from './use-cases/context.js';
import { createSession, type NewSession } from './use-cases/create-session.js';
import { deleteSession, forgetDeleted } from './use-cases/delete-session.js';
import { getSession, listSessions, readEvents, readMessages, readRecentMessages, subscribe } from './use-cases/read.js';
import { type Acknowledge, appendMessage, type AppendOptions, respond, resumeSession } from './use-cases/turns.js';

export type { NewSession } from './use-cases/create-session.js';
export type { Acknowledge, AppendOptions } from './use-cases/turns.js';
export type { Delivery, Subscriber } from './event-bus.js';

export const DEFAULT_LEASE_MS = 10_000;

/** What the runtime keeps when its options say nothing; the CLI's settings show these. */
export const RUNTIME_DEFAULTS = { maxLiveActors: 10_000, maxLiveBytes: 256 * 1024 * 1024, maxQueued: 20 } as const;

export interface RuntimeOptions {
  /** The runtime's from now on: `shutdown` closes it. */
  store: Store;
  /** Agents by name; sessions name one at creation. */
  agents: ReadonlyMap<string, Agent>;
  /** The agent of sessions that name none. */
  defaultAgent: string;
  /** Live actors kept before the least recently used idle ones are passivated. Default 10,000. */
  maxLiveActors?: number;
  /** Their estimated memory, likewise. Default 256 MiB. */
  maxLiveBytes?: number;
  /** How long a run's lease lasts without renewal. Default 10 s. */
  leaseMs?: number;
  /** Concurrent runs a tenant may have; a start over it answers `too_many_runs` and starts nothing. Default 0: no limit. */
  maxRunsPerTenant?: number;
  /** Messages a session may have queued (`multitask_strategy: enqueue`). Default 20. */
  maxQueued?: number;
  /** Per-tenant quotas on stored sessions and bytes. Default: none. */
  quotas?: Partial<QuotaLimits>;
  /** Delete sessions idle for longer than this many days (with their logs). Default 0: keep everything. */
  retentionDays?: number;
  /** This process among the instances sharing the store. Default: hostname, pid and a random part. */
  instanceId?: string;
  /** Other processes' news; null (the default) when no other process shares the store. */
  feed?: EventFeed | null;
  logger?: Logger;
  /** The Stately inspector: every session actor, and the state counts as a store. */
  inspector?: RuntimeInspector;
  /** Webhooks: each run ending's deliveries are written in its commit; `queued` hears once they are durable. */
  webhooks?: { render: WebhookRenderer; queued(): void };
}

export interface RuntimeInspector {
  inspect: Observer<InspectionEvent>;
  watchStore?(name: string, store: SessionIndex): unknown;
}

export interface StartOptions {
  /** Resume sessions whose run was interrupted (by a crash, a shutdown, a lost lease). */
  resumeInterrupted?: boolean;
}

/** The use cases, for one tenant. Another tenant's sessions do not exist here. */
export interface TenantSessions {
  createSession(input?: NewSession, acknowledge?: Acknowledge<SessionView>): Promise<SessionView>;
  getSession(id: string): Promise<SessionView>;
  listSessions(query: { limit: number; cursor?: string; state?: SessionState }): Promise<{ sessions: SessionView[]; next_cursor: string | null }>;
  deleteSession(id: string): Promise<void>;
  appendMessage(id: string, content: string, options?: AppendOptions): Promise<AppendOutcome<Message>>;
  resume(id: string): Promise<ResumeOutcome>;
  respond(id: string, questionId: string, answer: string, acknowledge?: Acknowledge<RespondOutcome>): Promise<RespondOutcome>;
  /** Cancels the active run; with `runId`, only if that is the active run (else `not_running`). */
  cancel(id: string, runId?: string): Promise<OutcomeOf<'Cancelled'>>;
  /** Takes a queued message back before it runs. */
  removeQueued(id: string, messageId: string): Promise<void>;
  /** At most `limit` events, and within `maxBytes` past the first. */
  readEvents(id: string, after: number, limit: number, maxBytes?: number): Promise<{ events: SessionEvent[]; next_after: number }>;
  readMessages(id: string, query: { limit: number; cursor?: string; maxBytes?: number }): Promise<{ messages: Message[]; next_cursor: string | null }>;
  /** The latest `limit` messages, oldest first; with `maxBytes`, those that fit it in UTF-8 (the newest always). */
  readRecentMessages(id: string, limit: number, maxBytes?: number): Promise<Message[]>;
  /** Live, durable events of a session; subscribe before reading the log. */
  subscribe(id: string, subscriber: Subscriber): Promise<{ unsubscribe: () => void; lastSeq: number }>;
}

export interface RuntimeStats {
  /** Stored sessions by state (kept in memory; with a shared store, refreshed from it). */
  counts: StateCounts;
  liveActors: number;
  /** Their estimated memory. */
  liveBytes: number;
  /** True while storage fails (an incident is open). */
  storageFailing: boolean;
  /** Sessions brought back from storage into memory since start. */
  hydrations: number;
  runsHere: number;
  subscribers: number;
}

/** The runtime: the default tenant's use cases, other tenants' through `forTenant`. */
export interface SessionRuntime extends TenantSessions {
  readonly instanceId: string;
  readonly agentNames: string[];
  forTenant(tenant: string): TenantSessions;
  /** Recovers interrupted runs and starts the lease keeper and the recovery sweep. Returns the ids it interrupted. */
  start(options?: StartOptions): Promise<string[]>;
  /** Records the runs executing here as interrupted, waits for every write, stops, and closes the store. Returns the interrupted sessions' ids. */
  shutdown(): Promise<string[]>;
  stats(): RuntimeStats;
  /** Every batch of events made durable here, for metrics and tools; returns a function that stops observing. */
  observe(observer: (events: readonly SessionEvent[]) => void): () => void;
  ping(): Promise<void>;
}

export function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}-${newId('run').slice(4, 10)}`;
}

export function createRuntime(options: RuntimeOptions): SessionRuntime {
  const logger = options.logger ?? pino({ level: 'silent' });
  const health = new StorageHealth(logger);
  const store = watchStorage(options.store, health);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const instanceId = options.instanceId ?? defaultInstanceId();
  if (!options.agents.has(options.defaultAgent)) throw new Error(`The default agent "${options.defaultAgent}" is not registered`);
  let closing = false;
  const observers = new Set<(events: readonly SessionEvent[]) => void>();
  const index = createSessionIndex();
  const bus = new EventBus(
    (id, after, limit) => store.readEvents(id, after, limit),
    (err, sessionId) => logger.warn({ err, session_id: sessionId }, 'could not read events for a stream'),
  );
  const onDurable = (changes: readonly Change[]) => {
    for (const { events } of changes) {
      for (const event of events) {
        if (event.type === 'state_changed') index.trigger.moved({ from: event.from, to: event.to });
        else if (event.type === 'session_created') index.trigger.moved({ to: 'idle' });
      }
      for (const observer of observers) observer(events);
    }
  };
  const registry: SessionRegistry = new SessionRegistry({
    store,
    maxLive: options.maxLiveActors ?? RUNTIME_DEFAULTS.maxLiveActors,
    maxLiveBytes: options.maxLiveBytes ?? RUNTIME_DEFAULTS.maxLiveBytes,
    logger,
    onRunCutOff: (id) => recovery?.reclaim(id),
    hostDeps: {
      store,
      instanceId,
      leaseMs,
      maxRunsPerTenant: options.maxRunsPerTenant ?? 0,
      inspect: options.inspector?.inspect,
      webhooks: options.webhooks?.render,
      logic: sessionMachine.provide({
        actors: { agentRun: createRunActor({ store, agents: options.agents, host: (id) => registry.peek(id), logger }) },
      }),
      onDurable: (host, changes) => {
        // What hears of a change must not undo it: a listener's fault is logged, never the host's failure.
        try {
          onDurable(changes);
          for (const change of changes) bus.publish(host.id, change.events);
          if (changes.some((change) => change.outbox)) options.webhooks?.queued();
        } catch (err) {
          logger.error({ err, session_id: host.id }, 'a listener failed on a durable change');
        }
        queue.freed(host);
      },
    },
  });
  const ctx: RuntimeContext = {
    store,
    registry,
    bus,
    index,
    feed: options.feed ?? null,
    agents: options.agents,
    defaultAgent: options.defaultAgent,
    instanceId,
    maxQueued: options.maxQueued ?? RUNTIME_DEFAULTS.maxQueued,
    quotas: new Quotas(store, { sessionsPerTenant: 0, bytesPerTenant: 0, ...options.quotas }),
    logger,
    isClosing: () => closing,
    holdQueue: (id, ms) => queue.hold(id, ms),
  };
  const retention = new Retention(ctx, options.retentionDays ?? 0);
  const queue = new QueueMover(() => ctx);
  options.inspector?.watchStore?.('session-index', index);
  let recovery: Recovery | null = null;
  const leases = new LeaseKeeper(ctx, leaseMs);
  let countsTimer: NodeJS.Timeout | null = null;

  const tenantView = (tenant: string): TenantSessions => ({
    createSession: (input = {}, acknowledge) => createSession(ctx, tenant, input, acknowledge),
    getSession: (id) => getSession(ctx, tenant, id),
    listSessions: (query) => listSessions(ctx, tenant, query),
    deleteSession: (id) => deleteSession(ctx, tenant, id),
    appendMessage: (id, content, appendOptions) => appendMessage(ctx, tenant, id, content, appendOptions),
    resume: (id) => resumeSession(ctx, tenant, id),
    respond: (id, questionId, answer, acknowledge) => respond(ctx, tenant, id, { questionId, answer }, acknowledge),
    cancel: (id, runId) => cancelRun(ctx, tenant, id, runId),
    removeQueued: (id, messageId) => removeQueued(ctx, tenant, id, messageId),
    readEvents: (id, after, limit, maxBytes) => readEvents(ctx, tenant, id, after, limit, maxBytes),
    readMessages: (id, query) => readMessages(ctx, tenant, id, query),
    readRecentMessages: (id, limit, maxBytes) => readRecentMessages(ctx, tenant, id, limit, maxBytes),
    subscribe: (id, subscriber) => subscribe(ctx, tenant, id, subscriber),
  });
  // One view per tenant, made once: requests ask for theirs every time.
  const views = new Map<string, TenantSessions>();
  const forTenant = (tenant: string): TenantSessions => {
    let view = views.get(tenant);
    if (!view) {
      // Tenants are few (one per key); the bound only guards against a surprise.
      if (views.size >= 10_000) views.clear();
      view = tenantView(tenant);
      views.set(tenant, view);
    }
    return view;
  };

  return {
    ...forTenant('default'),
    instanceId,
    agentNames: [...options.agents.keys()],
    forTenant,

    async start({ resumeInterrupted = false } = {}) {
      const seed = async () => index.trigger.seeded({ counts: await store.countByState() });
      await seed();
      await ctx.feed?.start({
        announced: (id, seq) => bus.announce(id, seq),
        deleted: (id) => forgetDeleted(ctx, id),
        commandRequested: (id, command) => {
          obeyOwnerCommand(ctx, id, command).catch((err: unknown) => logger.warn({ err, session_id: id, command: command.kind }, 'could not carry out a command for another instance'));
        },
      });
      recovery = new Recovery(ctx, { resumeInterrupted, intervalMs: Math.max(1, Math.floor(leaseMs / 2)), leaseMs, moveQueue: (id) => queue.move(id) });
      const interrupted = await recovery.atStart();
      leases.start();
      await retention.start();
      // Runs whose host broke (storage failed under them) are recorded interrupted once storage answers, or their lease lapses.
      recovery.start();
      if (store.shared) {
        // Other processes move sessions too; the in-memory counts are refreshed from storage.
        countsTimer = setInterval(() => void seed().catch(() => undefined), 30_000);
        countsTimer.unref();
      }
      return interrupted;
    },

    async shutdown() {
      if (closing) return [];
      closing = true;
      if (countsTimer) clearInterval(countsTimer);
      await recovery?.stop();
      await leases.stop();
      await retention.stop();
      const running = registry.runningHere();
      for (const host of running) host.send({ type: 'run.interrupt', at: now() });
      await Promise.allSettled(registry.hosts().map((host) => host.settled()));
      registry.stopAll();
      await ctx.feed?.close();
      await store.close();
      return running.map((host) => host.id);
    },

    observe(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },

    stats: () => ({
      counts: index.getSnapshot().context.counts,
      liveActors: registry.liveCount,
      liveBytes: registry.bytes,
      storageFailing: health.failing,
      hydrations: registry.hydrations,
      runsHere: registry.runningHere().length,
      subscribers: bus.subscriberCount(),
    }),

    async ping() {
      assertOpen(ctx);
      // While writes fail, only a write can tell that storage is back.
      await store.ping({ write: health.failing });
    },
  };
}
