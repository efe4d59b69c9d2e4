/**
 * The event feed over LISTEN/NOTIFY: what other instances committed, deleted,
 * or ask this one to do as the owner of a run. Notifications are small (a session id and a
 * `seq`); the events themselves are read from the log, so a notification
 * that arrives twice or late costs a read, never a duplicate or a gap.
 *
 * One dedicated connection listens. When it drops, the feed reconnects with
 * backoff, then announces every session written since shortly before it went
 * deaf, so streams catch up with what they missed. A connection can also die
 * without a word (a partition, a failover): a heartbeat asks it to answer, and
 * one that does not is treated as lost since it last answered. Commands
 * addressed to this instance while it was deaf are taken on reconnecting, if
 * their askers still wait.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { OWNER_GRACE_MS, type EventFeed, type FeedHandlers, type OwnerCommand } from '../../runtime/ports.js';
import type { PgStore } from './pg-store.js';
import { CHANNELS } from './statements.js';
import { within } from '../../domain/deadline.js';

export interface PgFeedOptions {
  /** This instance: commands for other owners are left to them. */
  instanceId: string;
  logger?: Logger;
  /** First pause before a reconnection; doubled up to `maxBackoffMs`. Default 100 ms. */
  minBackoffMs?: number;
  /** Default 5 s. */
  maxBackoffMs?: number;
  /** How often the listening connection must answer; also how long it may take. Default 5 s. */
  heartbeatMs?: number;
}

/** Writes are stamped with their writer's clock; look this far further back, for clocks that disagree. */
const CLOCK_SKEW_MS = 30_000;

export class PgFeed implements EventFeed {
  private handlers: FeedHandlers | null = null;
  private client: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  /** Since when nothing may have been heard: the last sign of life of a connection found lost; null while listening. */
  private deafSince: number | null = null;
  /** The listening connection's last sign of life (connected, answered, notified). */
  private lastHeard = Date.now();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: PgStore,
    private readonly options: PgFeedOptions,
  ) {
    this.backoffMs = options.minBackoffMs ?? 100;
  }

  /** True while the listening connection is up. */
  get listening(): boolean {
    return this.client !== null;
  }

  async start(handlers: FeedHandlers): Promise<void> {
    this.handlers = handlers;
    await this.listen();
  }

  /** Nothing to send: the store's delete statement notifies in the deletion's own transaction. */
  async announceDeleted(_sessionId: string): Promise<void> {}

  async requestCommand(owner: string, sessionId: string, command: OwnerCommand): Promise<void> {
    await this.store.requestCommand(owner, sessionId, JSON.stringify(command));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = this.store.listener();
    let ended = false;
    client.on('notification', (message) => {
      this.lastHeard = Date.now();
      this.dispatch(message);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => {
      ended = true;
      this.lost(client, null);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNELS.events}; LISTEN ${CHANNELS.deleted}; LISTEN ${CHANNELS.command}`);
      if (ended) throw new Error('The listening connection closed as it was set up');
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.lastHeard = Date.now();
    this.heartbeat ??= setInterval(() => void this.beat(), this.options.heartbeatMs ?? 5_000);
    this.heartbeat.unref();
  }

  /** Asks the listening connection to answer within a heartbeat; one that does not is lost. */
  private async beat(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const limit = this.options.heartbeatMs ?? 5_000;
    try {
      await within(client.query('SELECT 1'), limit, `the listening connection did not answer within ${limit} ms`);
      if (this.client === client) this.lastHeard = Date.now();
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  private dispatch({ channel, payload = '' }: pg.Notification): void {
    const handlers = this.handlers;
    if (!handlers) return;
    if (channel === CHANNELS.events) {
      // Session ids hold no colon; instance ids may.
      const [sessionId = '', seqText = '', ...writer] = payload.split(':');
      const seq = Number(seqText);
      // This instance delivered its own commits when they landed.
      if (writer.join(':') === this.options.instanceId) return;
      if (sessionId && Number.isInteger(seq)) handlers.announced(sessionId, seq);
    } else if (channel === CHANNELS.deleted) {
      handlers.deleted(payload);
    } else if (channel === CHANNELS.command) {
      const colon = payload.lastIndexOf(':');
      if (colon > 0 && payload.slice(0, colon) === this.options.instanceId) void this.take(payload.slice(colon + 1), handlers);
    }
  }

  /** Takes a command addressed to this instance, and carries it out. */
  private async take(id: string, handlers: FeedHandlers): Promise<void> {
    try {
      const taken = await this.store.takeCommand(id, this.options.instanceId);
      if (taken) handlers.commandRequested(taken.sessionId, JSON.parse(taken.command) as OwnerCommand);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'could not take a command from another instance; it will do without');
    }
  }

  /** Carries out the commands whose notifications went unheard, while their askers still wait. */
  private async takeMissedCommands(): Promise<void> {
    try {
      const missed = await this.store.takePendingCommands(this.options.instanceId, OWNER_GRACE_MS);
      for (const { sessionId, command } of missed) this.handlers?.commandRequested(sessionId, JSON.parse(command) as OwnerCommand);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'could not take the commands asked while not listening; their askers act without them');
    }
  }

  private lost(client: pg.Client, error: Error | null): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    this.deafSince = this.lastHeard;
    this.options.logger?.warn({ err: error ?? undefined }, 'lost the PostgreSQL listening connection; reconnecting');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, this.backoffMs);
    this.reconnectTimer.unref();
  }

  private async reconnect(): Promise<void> {
    try {
      await this.listen();
    } catch (error) {
      this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 5_000);
      this.options.logger?.debug({ err: error, retry_in_ms: this.backoffMs }, 'could not listen on PostgreSQL yet');
      this.scheduleReconnect();
      return;
    }
    this.backoffMs = this.options.minBackoffMs ?? 100;
    const since = this.deafSince;
    this.deafSince = null;
    this.options.logger?.info('listening on PostgreSQL again');
    if (since !== null) await Promise.all([this.catchUp(since), this.takeMissedCommands()]);
  }

  /** Announces what was written while nobody listened; an announcement of nothing new is ignored by the bus. */
  private async catchUp(deafSince: number): Promise<void> {
    try {
      const changed = await this.store.changedSince(new Date(deafSince - CLOCK_SKEW_MS).toISOString());
      for (const { id, lastSeq } of changed) this.handlers?.announced(id, lastSeq);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'could not catch up after reconnecting; streams catch up at their next event');
    }
  }
}
