/**
 * Tools the openai agent offers the model: a name, a description, a zod schema
 * for the arguments and an `execute` function. Library users define their own
 * with `defineTool` and hand them to the agent in a registry.
 */
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { SessionInfo } from '../../domain/types.js';

/** What a tool gets besides its arguments. */
export interface ToolContext {
  /** Aborted when the run is cancelled: long work should stop. */
  signal: AbortSignal;
  session: SessionInfo;
  runId: string;
  toolCallId: string;
}

export interface Tool<Args = unknown> {
  readonly name: string;
  readonly description: string;
  /** Checks the model's arguments before `execute` sees them. */
  readonly parameters: z.ZodType;
  /** The parameters as JSON Schema, as the model sees them. */
  readonly jsonSchema: Record<string, unknown>;
  /** A string result is sent to the model as is; anything else as JSON. A throw is reported to the model as the result. */
  execute(args: Args, context: ToolContext): unknown;
}

export interface ToolDefinition<Schema extends z.ZodType<Record<string, unknown>>> {
  name: string;
  description: string;
  parameters: Schema;
  execute(args: z.output<Schema>, context: ToolContext): unknown;
}

/** The name of the built-in question tool; no user tool may take it. */
export const ASK_USER = 'ask_user';

// What OpenAI accepts as a function name.
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function defineTool<Schema extends z.ZodType<Record<string, unknown>>>(definition: ToolDefinition<Schema>): Tool<z.output<Schema>> {
  const { name, description, parameters, execute } = definition;
  if (!TOOL_NAME.test(name)) throw new Error(`Tool name "${name}" must be 1-64 letters, digits, "_" or "-"`);
  return { name, description, parameters, jsonSchema: parametersSchema(name, parameters), execute };
}

/** The JSON Schema of a tool's arguments; it must describe an object. */
export function parametersSchema(name: string, parameters: z.ZodType): Record<string, unknown> {
  let schema: Record<string, unknown>;
  try {
    // The model writes the input side of the schema (before transforms and defaults).
    schema = z.toJSONSchema(parameters, { io: 'input' }) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`Tool "${name}": its parameters cannot be expressed as JSON Schema (${(error as Error).message})`);
  }
  if (schema.type !== 'object') throw new Error(`Tool "${name}": its parameters must be an object schema (z.object)`);
  const { $schema: _, ...rest } = schema;
  return rest;
}

export function toFunctionTool(tool: Pick<Tool, 'name' | 'description' | 'jsonSchema'>): ChatCompletionFunctionTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.jsonSchema } };
}

/** The tools one agent offers, by name. */
export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(tools: Iterable<Tool> = []) {
    for (const tool of tools) this.register(tool);
  }

  register(tool: Tool): this {
    if (tool.name === ASK_USER) throw new Error(`Tool name "${ASK_USER}" is reserved for the built-in question tool`);
    if (this.tools.has(tool.name)) throw new Error(`A tool named "${tool.name}" is already registered`);
    this.tools.set(tool.name, tool);
    return this;
  }

  get(name: string): Tool | undefined {
    return this.tools.get(name);
  }

  list(): Tool[] {
    return [...this.tools.values()];
  }
}

export function createToolRegistry(tools: Iterable<Tool> = []): ToolRegistry {
  return new ToolRegistry(tools);
}
