export { createOpenAIAgent, DEFAULT_BASE_URL, DEFAULT_MAX_TOOL_ROUNDS, PLACEHOLDER_API_KEY } from './agent.js';
export type { OpenAIAgentOptions } from './agent.js';
export { DEFAULT_MODEL, openAIAgentFromEnv, openAIOptionsFromEnv } from './env.js';
export { ASK_USER, createToolRegistry, defineTool, ToolRegistry } from './tools.js';
export type { Tool, ToolContext, ToolDefinition } from './tools.js';
