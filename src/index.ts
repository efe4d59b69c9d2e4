export type { Agent, AskedQuestion, RunContext, RunEvent, RunResult } from './agents/agent.js';
export { createDemoAgent } from './agents/demo.js';
export { SessionError } from './domain/errors.js';
export type * from './domain/types.js';
export { SessionRuntime } from './runtime/runtime.js';
export type { RuntimeOptions } from './runtime/runtime.js';
export { SqliteStore } from './storage/sqlite/sqlite-store.js';
export type { Store } from './storage/store.js';
