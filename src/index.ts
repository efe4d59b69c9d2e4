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
export type { Commit, IdempotencyRecord, IdempotencyStore, LeaseChange, ListQuery, Page, SessionRow, Store } from './storage/store.js';
export { IdempotencyKeyTaken, StorageUnavailable, VersionConflict } from './storage/store.js';
export { createBamboo, createServer } from './server.js';
export type { Bamboo, BambooOptions, BambooServer, ServerOptions } from './server.js';
export { createApp, DEFAULT_SSE } from './http/app.js';
export type { AppOptions } from './http/app.js';
export { Lifecycle } from './http/lifecycle.js';
export { Metrics } from './http/metrics.js';
export type { SseOptions } from './http/sse.js';
export { sessionMachine } from '../machines/session.machine.js';
export type { RunEnd, SessionContext, SessionMachineEvent } from '../machines/session.machine.js';
export { createOpenAIAgent, createToolRegistry, defineTool, openAIAgentFromEnv, ToolRegistry } from './agents/openai/index.js';
export type { OpenAIAgentOptions, Tool, ToolContext } from './agents/openai/index.js';
