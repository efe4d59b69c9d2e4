/**
 * What `createBamboo` and `createServer` take and give: the options of a
 * server, its limits and their defaults. Types and constants only.
 */
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Agent } from './agents/agent.js';
import type { ConfiguredKey } from './auth/keys.js';
import type { EventFeed } from './runtime/ports.js';
import type { RuntimeInspector, SessionRuntime } from './runtime/runtime.js';
import type { ServerStore } from './storage/store.js';
import type { WebhookTuning } from './webhooks/dispatcher.js';

/** API keys and tenants, the front door, per-tenant limits. */
export interface AccessSettings {
  /** Keys given in the configuration (`BAMBOO_API_KEYS`), beside those in the store. */
  apiKeys?: readonly ConfiguredKey[];
  /** Host names served beside the loopback ones and the listening address; `*` for any. */
  allowedHosts?: readonly string[] | '*';
  /** Browser origins allowed to call the API (CORS). */
  corsOrigins?: readonly string[];
  /** Requests per minute per tenant. Default: 6,000 when keys exist, else none; 0 for none. */
  rateLimitPerMinute?: number;
  /** Concurrent runs per tenant. Default: 100 when keys exist, else none; 0 for none. */
  maxRunsPerTenant?: number;
  /** Open event streams per tenant. Default: 1,000 when keys exist, else none; 0 for none. */
  maxStreamsPerTenant?: number;
  /** Listen on a non-loopback address without any API key (a warning at every start). */
  allowUnauthenticated?: boolean;
  /** Keep the Stately inspector on although keys exist (it shows every tenant's sessions). */
  inspectorWithKeys?: boolean;
}

/** Defaults of the per-tenant limits when API keys exist. */
export const KEYED_DEFAULTS = { rateLimitPerMinute: 6_000, maxRunsPerTenant: 100, maxStreamsPerTenant: 1_000 } as const;

/** What one instance spends at most on its clients and its sessions. Every `max…` of 0 means no limit. */
export interface ResourceLimits {
  /** Open event streams in all. Default 5,000. */
  maxStreams?: number;
  /** Open event streams of one session. Default 2,000. */
  maxStreamsPerSession?: number;
  /** Open event streams of one client address. Default 2,000. */
  maxStreamsPerClient?: number;
  /** Bytes buffered by all slow event streams together before the slowest are cut. Default 64 MiB. */
  sseBufferedBytes?: number;
  /** Bytes of one page of events or messages. Default 4 MiB. */
  pageBytes?: number;
  /** How long a client may leave part of a page unread before its response is cut, in ms. Default 30 s. */
  pageStallMs?: number;
  /** Open connections in all (`server.maxConnections`). Default 10,000. */
  maxConnections?: number;
  /** Open connections of one client address. Default 2,500. */
  maxConnectionsPerClient?: number;
  /** Estimated memory of live session actors before idle ones are passivated. Default 256 MiB. */
  maxLiveBytes?: number;
  /** Sessions per tenant. Default: no quota. */
  quotaSessions?: number;
  /** Bytes of stored sessions per tenant. Default: no quota. */
  quotaBytes?: number;
  /** Delete sessions idle for longer than this many days. Default 0: keep everything. */
  retentionDays?: number;
}

/** The defaults of `ResourceLimits` that are limits of the HTTP side; the CLI's settings show these. */
export const DEFAULT_LIMITS = {
  maxStreams: 5_000,
  maxStreamsPerSession: 2_000,
  maxStreamsPerClient: 2_000,
  sseBufferedBytes: 64 * 1024 * 1024,
  pageBytes: 4 * 1024 * 1024,
  pageStallMs: 30_000,
  maxConnections: 10_000,
  maxConnectionsPerClient: 2_500,
} as const;

/** Webhooks: receivers the operator configures (never an API client), told of every run's end. */
export interface WebhookSettings extends WebhookTuning {
  /** `http://` or `https://` URLs; each is sent every run ending. None: webhooks are off. */
  urls: readonly string[];
  /** The signing secret, `whsec_` and base64 (Standard Webhooks). */
  secret: string;
}

export interface BambooOptions {
  /** Storage; defaults to a SQLite file at `dbPath`. It must also keep idempotency records, API keys and the webhook outbox. */
  store?: ServerStore;
  /** SQLite file (or `:memory:`) when no `store` is given. Default `./data/bamboo.db`. */
  dbPath?: string;
  /** Other processes' news, when several share a PostgreSQL store. */
  feed?: EventFeed;
  /** Extra agents by name, beside the built-in `demo`. */
  agents?: Record<string, Agent>;
  /** Agent for sessions that name none. Default `demo`. */
  defaultAgent?: string;
  /** The demo agent's pause between tokens. Default 20 ms. */
  tokenDelayMs?: number;
  /** Default 10,000. */
  maxLiveActors?: number;
  /** Messages a session may have queued. Default 20. */
  maxQueued?: number;
  /** How long a run's lease lasts without renewal. Default 10 s. */
  leaseMs?: number;
  /** This process among several sharing a store. */
  instanceId?: string;
  /** Resume interrupted sessions at start-up (and, with a shared store, whenever a lease expires). */
  resumeInterrupted?: boolean;
  logger?: Logger;
  /** SSE keep-alive comment interval. Default 15 s. */
  pingIntervalMs?: number;
  /** Bytes queued for one slow SSE client before it is dropped. Default 4 MiB. */
  sseMaxBufferedBytes?: number;
  /** Largest JSON body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** How long shutdown waits for requests in flight. Default 10 s. */
  shutdownGraceMs?: number;
  /** The Stately inspector, given every session actor. */
  inspector?: RuntimeInspector;
  access?: AccessSettings;
  limits?: ResourceLimits;
  webhooks?: WebhookSettings;
}

export interface Bamboo {
  /** The Express app: mount it where you like (`parent.use('/bamboo', bamboo.app)`). */
  app: Express;
  runtime: SessionRuntime;
  /** Sessions found interrupted at start-up. */
  interrupted: string[];
  /** Waits for requests in flight, records active runs as interrupted, closes storage, ends streams. Resolves with the interrupted runs' sessions. */
  close(): Promise<string[]>;
}

export interface ServerOptions extends BambooOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface BambooServer extends Bamboo {
  /** `http://host:port`, the port resolved. */
  url: string;
  port: number;
  http: Server;
}
