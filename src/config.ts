/** Configuration from the environment, overridden by command-line flags. */
import { parseArgs } from 'node:util';
import { z } from 'zod';

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const count = (min: number) => z.coerce.number().int().min(min);

const schema = z.object({
  PORT: count(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  BAMBOO_DB: z.string().min(1).default('./data/bamboo.db'),
  BAMBOO_AGENT: z.string().min(1).default('demo'),
  BAMBOO_TOKEN_DELAY_MS: count(0).default(20),
  BAMBOO_MAX_LIVE_ACTORS: count(1).default(10_000),
  BAMBOO_RESUME_INTERRUPTED: flag.default(false),
  BAMBOO_INSPECT: flag.default(false),
  BAMBOO_INSPECT_PORT: count(0).max(65535).default(5678),
  BAMBOO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.output<typeof schema>;

const FLAGS = {
  port: 'PORT',
  host: 'HOST',
  db: 'BAMBOO_DB',
  agent: 'BAMBOO_AGENT',
  'token-delay-ms': 'BAMBOO_TOKEN_DELAY_MS',
  'max-live-actors': 'BAMBOO_MAX_LIVE_ACTORS',
  'inspect-port': 'BAMBOO_INSPECT_PORT',
  'log-level': 'BAMBOO_LOG_LEVEL',
} as const;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(Object.keys(FLAGS).map((name) => [name, { type: 'string' as const }])),
      'resume-interrupted': { type: 'boolean' },
      inspect: { type: 'boolean' },
    },
    strict: true,
  });
  const merged: Record<string, unknown> = { ...env };
  const given = values as Record<string, string | boolean | undefined>;
  for (const [name, variable] of Object.entries(FLAGS)) {
    if (given[name] !== undefined) merged[variable] = given[name];
  }
  if (values['resume-interrupted']) merged.BAMBOO_RESUME_INTERRUPTED = '1';
  if (values.inspect) merged.BAMBOO_INSPECT = '1';
  for (const key of Object.keys(schema.shape)) if (merged[key] === '') delete merged[key];
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid configuration ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
