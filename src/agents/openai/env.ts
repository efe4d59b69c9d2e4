/**
 * The openai agent's configuration from the environment. The agent exists
 * when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set (a local server needs no
 * key); everything else has a default.
 */
import { z } from 'zod';
import type { Agent } from '../agent.js';
import { createOpenAIAgent, type OpenAIAgentOptions } from './agent.js';
import type { Tool, ToolRegistry } from './tools.js';

export const DEFAULT_MODEL = 'gpt-4o-mini';

type Env = Readonly<Record<string, string | undefined>>;

const decimal = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const integer = /^[+]?\d+$/;

const envSchema = z.object({
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  BAMBOO_MODEL: z.string().default(DEFAULT_MODEL),
  BAMBOO_TEMPERATURE: z
    .string()
    .regex(decimal, { error: 'must be a number from 0 to 2' })
    .transform(Number)
    .pipe(z.number().min(0, { error: 'must be a number from 0 to 2' }).max(2, { error: 'must be a number from 0 to 2' }))
    .optional(),
  BAMBOO_MAX_TOKENS: z
    .string()
    .regex(integer, { error: 'must be a whole number of at least 1' })
    .transform(Number)
    .pipe(z.int().min(1, { error: 'must be a whole number of at least 1' }))
    .optional(),
  BAMBOO_MAX_TOOL_ROUNDS: z
    .string()
    .regex(integer, { error: 'must be a whole number of at least 1' })
    .transform(Number)
    .pipe(z.int().min(1, { error: 'must be a whole number of at least 1' }))
    .optional(),
});

/** Values that may hold secrets are never repeated in an error. */
const SECRET_VARIABLES = new Set(['OPENAI_API_KEY', 'OPENAI_BASE_URL']);

/** The agent's options from `env`, or undefined when neither a key nor a base URL is set. Throws on a bad value. */
export function openAIOptionsFromEnv(env: Env = process.env): Omit<OpenAIAgentOptions, 'tools'> | undefined {
  // An empty variable counts as unset, as in most env files.
  const values = Object.fromEntries(
    Object.keys(envSchema.shape).map((name) => [name, env[name]?.trim() || undefined]),
  );
  if (values.OPENAI_API_KEY === undefined && values.OPENAI_BASE_URL === undefined) return undefined;
  const parsed = envSchema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return SECRET_VARIABLES.has(name) ? `${name} ${issue.message}` : `${name} ${issue.message} (got ${JSON.stringify(values[name])})`;
    });
    throw new Error(`Invalid openai agent configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  return {
    ...(config.OPENAI_BASE_URL === undefined ? {} : { baseURL: config.OPENAI_BASE_URL }),
    ...(config.OPENAI_API_KEY === undefined ? {} : { apiKey: config.OPENAI_API_KEY }),
    model: config.BAMBOO_MODEL,
    ...(config.BAMBOO_TEMPERATURE === undefined ? {} : { temperature: config.BAMBOO_TEMPERATURE }),
    ...(config.BAMBOO_MAX_TOKENS === undefined ? {} : { maxTokens: config.BAMBOO_MAX_TOKENS }),
    ...(config.BAMBOO_MAX_TOOL_ROUNDS === undefined ? {} : { maxToolRounds: config.BAMBOO_MAX_TOOL_ROUNDS }),
  };
}

/** The `openai` agent configured by `env`, or undefined when it is not configured. Throws on a bad value. */
export function openAIAgentFromEnv(env: Env = process.env, tools?: ToolRegistry | Iterable<Tool>): Agent | undefined {
  const options = openAIOptionsFromEnv(env);
  return options && createOpenAIAgent({ ...options, ...(tools ? { tools } : {}) });
}
