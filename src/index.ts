export type { Agent, QuestionDraft, RunContext, RunEvent, RunResult } from './agents/agent.js';
export { sleep } from './agents/agent.js';
export { createDemoAgent } from './agents/demo.js';
export type { DemoAgentOptions } from './agents/demo.js';
export { SessionError } from './domain/errors.js';
export type { ErrorCode, RejectionCode } from './domain/errors.js';
export type * from './domain/events.js';
export { EVENT_TYPES } from './domain/events.js';
export type * from './domain/outcomes.js';
export type * from './domain/types.js';
export { SESSION_STATES } from './domain/types.js';
export { createRuntime, defaultInstanceId } from './runtime/runtime.js';
export type {
  AppendOptions,
  Acknowledge,
  Delivery,
  NewSession,
  RuntimeInspector,
  RuntimeOptions,
  RuntimeStats,
  SessionRuntime,
  StartOptions,
  Subscriber,
  TenantSessions,
} from './runtime/runtime.js';
export type { EventFeed, FeedHandlers } from './runtime/ports.js';
export { SqliteStore } from './storage/sqlite/sqlite-store.js';
export { PgStore } from './storage/postgres/pg-store.js';
export type { PgStoreOptions } from './storage/postgres/pg-store.js';
export { PgFeed } from './storage/postgres/feed.js';
export type { PgFeedOptions } from './storage/postgres/feed.js';
export { openStore } from './storage/open-store.js';
export type { OpenedStore, OpenStoreOptions } from './storage/open-store.js';
export type {
  ApiKeyRecord,
  Commit,
  DeliveryQuery,
  DeliveryRecord,
  IdempotencyRecord,
  IdempotencyStore,
  KeyStore,
  LeaseChange,
  ListQuery,
  Page,
  RetryOutcome,
  ServerStore,
  SessionRow,
  Store,
  WebhookDelivery,
  WebhookOutbox,
} from './storage/store.js';
export type * from './domain/webhooks.js';
export { WEBHOOK_EVENT_TYPES } from './domain/webhooks.js';
export { IdempotencyKeyTaken, StorageUnavailable, VersionConflict } from './storage/store.js';
export { createBamboo, createServer } from './server.js';
export { DEFAULT_LIMITS, KEYED_DEFAULTS, UnsafeConfiguration } from './server.js';
export type { AccessSettings, Bamboo, BambooOptions, BambooServer, ResourceLimits, ServerOptions, WebhookSettings } from './server.js';
export type { WebhookTuning } from './webhooks/dispatcher.js';
export { createApp, DEFAULT_SSE } from './http/app.js';
export type { AccessOptions, AppOptions, ResponseBudget } from './http/app.js';
export { Authenticator } from './auth/authenticator.js';
export type { AuthenticatorOptions, Principal } from './auth/authenticator.js';
export type { ConfiguredKey } from './auth/keys.js';
export type { FrontDoorOptions } from './http/front-door.js';
export type { StreamLimits } from './http/stream-budget.js';
export { WebhookDeliveries } from './webhooks/deliveries.js';
export { Lifecycle } from './http/lifecycle.js';
export { Metrics } from './http/metrics.js';
export type { SseOptions } from './http/sse.js';
export { sessionMachine } from '../machines/session.machine.js';
export type { RunEnd, SessionContext, SessionMachineEvent } from '../machines/session.machine.js';
export { createOpenAIAgent, createToolRegistry, defineTool, openAIAgentFromEnv, ToolRegistry } from './agents/openai/index.js';
export type { OpenAIAgentOptions, Tool, ToolContext } from './agents/openai/index.js';
