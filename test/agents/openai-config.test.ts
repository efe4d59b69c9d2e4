/** Configuring the openai agent: from the environment, its options, and tool definitions. */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createOpenAIAgent,
  createToolRegistry,
  defineTool,
  openAIAgentFromEnv,
  openAIOptionsFromEnv,
  PLACEHOLDER_API_KEY,
} from '../../src/agents/openai/index.js';
import type { SessionRuntime } from '../../src/runtime/runtime.js';
import { startRuntime, waitForRunEnd } from './openai-helpers.js';
import { startModelServer, textReply, type ModelServer } from './openai-server.js';

let server: ModelServer | undefined;
let runtime: SessionRuntime | undefined;

afterEach(async () => {
  await runtime?.shutdown();
  await server?.close();
  server = undefined;
  runtime = undefined;
});

const echo = defineTool({ name: 'echo', description: 'Echoes', parameters: z.object({ text: z.string() }), execute: ({ text }) => text });

describe('openAIAgentFromEnv', () => {
  it('is undefined without a key or base URL (empty values count as unset)', () => {
    expect(openAIAgentFromEnv({})).toBeUndefined();
    expect(openAIAgentFromEnv({ OPENAI_API_KEY: '', OPENAI_BASE_URL: '  ', BAMBOO_MODEL: 'x' })).toBeUndefined();
  });

  it('with a key only: OpenAI\'s default server and the default model', () => {
    expect(openAIOptionsFromEnv({ OPENAI_API_KEY: 'sk-abc' })).toEqual({ apiKey: 'sk-abc', model: 'gpt-4o-mini' });
    expect(openAIAgentFromEnv({ OPENAI_API_KEY: 'sk-abc' })).toBeDefined();
  });

  it('with a base URL only: talks to that server with a placeholder key, the model and settings from the environment', async () => {
    server = await startModelServer();
    const agent = openAIAgentFromEnv(
      { OPENAI_BASE_URL: server.url, BAMBOO_MODEL: 'local-llama', BAMBOO_TEMPERATURE: '0.5', BAMBOO_MAX_TOKENS: '256', BAMBOO_MAX_TOOL_ROUNDS: '3' },
      createToolRegistry([echo]),
    );
    expect(agent).toBeDefined();
    runtime = await startRuntime(agent!);
    server.reply(textReply(['hi']));
    const session = await runtime.createSession({ agent: 'openai' });
    await runtime.appendMessage(session.id, 'hello');
    expect((await waitForRunEnd(runtime, session.id)).state).toBe('completed');
    const [request] = server.requests;
    expect(request!.headers.authorization).toBe(`Bearer ${PLACEHOLDER_API_KEY}`);
    expect(request!.body).toMatchObject({ model: 'local-llama', temperature: 0.5, max_tokens: 256 });
    expect(request!.body.tools.map((tool: any) => tool.function.name)).toEqual(['ask_user', 'echo']);
  });

  it.each([
    ['BAMBOO_TEMPERATURE', 'hot', 'BAMBOO_TEMPERATURE must be a number from 0 to 2 (got "hot")'],
    ['BAMBOO_TEMPERATURE', '2.5', 'BAMBOO_TEMPERATURE must be a number from 0 to 2 (got "2.5")'],
    ['BAMBOO_MAX_TOKENS', '12abc', 'BAMBOO_MAX_TOKENS must be a whole number of at least 1 (got "12abc")'],
    ['BAMBOO_MAX_TOOL_ROUNDS', '0', 'BAMBOO_MAX_TOOL_ROUNDS must be a whole number of at least 1 (got "0")'],
    ['BAMBOO_MAX_TOOL_ROUNDS', '1.5', 'BAMBOO_MAX_TOOL_ROUNDS must be a whole number of at least 1 (got "1.5")'],
    ['OPENAI_BASE_URL', 'localhost:8080', 'OPENAI_BASE_URL must be an http(s) URL'],
  ])('%s=%s is refused with a clear error', (name, value, message) => {
    const env = { OPENAI_API_KEY: 'sk-secret-value', [name]: value };
    let thrown: unknown;
    try {
      openAIAgentFromEnv(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toBe(`Invalid openai agent configuration: ${message}`);
    expect((thrown as Error).message).not.toContain('sk-secret-value');
  });
});

describe('createOpenAIAgent', () => {
  it('refuses bad options without repeating any value', () => {
    expect(() => createOpenAIAgent({ model: 'm', apiKey: 'sk-secret-value', temperature: 5 })).toThrow(/^Invalid openai agent options: temperature: /);
    expect(() => createOpenAIAgent({ model: '', apiKey: 'sk-secret-value' })).toThrow(/model/);
    expect(() => createOpenAIAgent({ model: 'm', maxToolRounds: 0 })).toThrow(/maxToolRounds/);
    expect(() => createOpenAIAgent({ model: 'm', baseURL: 'ftp://example.com' })).toThrow(/baseURL/);
    try {
      createOpenAIAgent({ model: 'm', apiKey: 'sk-secret-value', maxRetries: -1 });
    } catch (error) {
      expect((error as Error).message).not.toContain('sk-secret-value');
    }
  });
});

describe('tools', () => {
  it('defineTool gives the model the input side of a zod object schema', () => {
    const tool = defineTool({
      name: 'search',
      description: 'Searches',
      parameters: z.object({ query: z.string().describe('What to look for'), limit: z.number().int().default(10) }),
      execute: () => '',
    });
    expect(tool.jsonSchema).toEqual({
      type: 'object',
      properties: { query: { type: 'string', description: 'What to look for' }, limit: expect.objectContaining({ type: 'integer', default: 10 }) },
      required: ['query'],
    });
  });

  it('refuses bad names, schemas that are not objects or not expressible, duplicates and ask_user', () => {
    const base = { description: 'd', execute: () => '' };
    expect(() => defineTool({ ...base, name: 'has space', parameters: z.object({}) })).toThrow(/name "has space"/);
    expect(() => defineTool({ ...base, name: 'str', parameters: z.string() as any })).toThrow(/must be an object schema/);
    expect(() => defineTool({ ...base, name: 'when', parameters: z.object({ at: z.date() }) })).toThrow(/cannot be expressed as JSON Schema/);
    expect(() => createToolRegistry([echo, echo])).toThrow('A tool named "echo" is already registered');
    expect(() => createToolRegistry([defineTool({ ...base, name: 'ask_user', parameters: z.object({}) })])).toThrow(/reserved/);
  });
});
