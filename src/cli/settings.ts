/**
 * Every setting of `bamboo-server`, in one table: the environment variable,
 * its flag, the kind of value, the default and what it means. The parser, the
 * `Config` type, `--help`, log redaction and the README's configuration table
 * are all derived from it, so a new setting is one entry here.
 */
import { DEFAULT_MAX_TOOL_ROUNDS, DEFAULT_MODEL } from '../agents/openai/index.js';
import { DEFAULT_LEASE_MS } from '../runtime/runtime.js';
import { integer, oneOf, path, port, text, toggle, type Value } from './values.js';

export interface Setting<Name extends string = string, T = unknown, Default extends T | undefined = T | undefined> {
  variable: Name;
  /** Without the dashes; absent for settings only the environment sets. */
  flag?: string;
  value: Value<T>;
  /** Applied when the setting is unset; `undefined` leaves it unset. */
  default: Default;
  /** Shown instead of the default when it is decided at run time or elsewhere. */
  defaultLabel?: string;
  /** One line for `--help` and the README; `backticks` mark literal values. */
  meaning: string;
  /** Never echoed in an error, never logged. */
  secret?: boolean;
  /**
   * Validated by its consumer, not here: the openai agent reads its variables
   * from the environment itself (library users call it directly), so this
   * table only documents them and keeps their secrets out of the logs.
   */
  readBy?: 'openai agent';
}

function setting<const Name extends string, T, const Default extends T | undefined>(
  entry: Setting<Name, T, Default>,
): Setting<Name, T, Default> {
  return entry;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const SETTINGS = [
  setting({ variable: 'PORT', flag: 'port', value: port, default: 3000, meaning: 'listening port (`0`: any free port, printed at start)' }),
  setting({ variable: 'HOST', flag: 'host', value: text, default: '127.0.0.1', meaning: 'listening address' }),
  setting({
    variable: 'BAMBOO_DB',
    flag: 'db',
    value: { ...path, placeholder: '<path|url>' },
    default: './data/bamboo.db',
    meaning:
      'SQLite file (created with its folder); `:memory:` for throw-away runs; or `postgres://user[:password]@host:port/database` to share one PostgreSQL database among several instances',
  }),
  setting({ variable: 'BAMBOO_AGENT', flag: 'agent', value: text, default: 'demo', meaning: 'agent for sessions that name none' }),
  setting({ variable: 'BAMBOO_TOKEN_DELAY_MS', flag: 'token-delay-ms', value: integer(0), default: 20, meaning: 'demo agent pause between tokens' }),
  setting({
    variable: 'BAMBOO_MAX_LIVE_ACTORS',
    flag: 'max-live-actors',
    value: integer(1),
    default: 10_000,
    meaning: 'live actors kept before the least recently used idle ones are passivated',
  }),
  setting({
    variable: 'BAMBOO_RESUME_INTERRUPTED',
    flag: 'resume-interrupted',
    value: toggle,
    default: false,
    meaning: '`1`: resume sessions interrupted by a crash at start-up (on PostgreSQL, also runs whose lease expired while the server runs)',
  }),
  setting({
    variable: 'BAMBOO_LEASE_MS',
    flag: 'lease-ms',
    value: integer(100),
    default: DEFAULT_LEASE_MS,
    meaning: "how long a run's lease lasts without renewal; its owner renews it every third of that, and on PostgreSQL any instance records a run whose lease expired as interrupted",
  }),
  setting({
    variable: 'BAMBOO_INSTANCE_ID',
    flag: 'instance-id',
    value: text,
    default: undefined,
    defaultLabel: 'hostname-pid-random',
    meaning: 'this instance among those sharing a PostgreSQL database: the owner of its runs, shown in logs, `/readyz` and `/metrics`',
  }),
  setting({ variable: 'BAMBOO_INSPECT', flag: 'inspect', value: toggle, default: false, meaning: '`1`: start the Stately inspector (see below)' }),
  setting({ variable: 'BAMBOO_INSPECT_PORT', flag: 'inspect-port', value: port, default: 5678, meaning: "the inspector's port on 127.0.0.1" }),
  setting({ variable: 'BAMBOO_LOG_LEVEL', flag: 'log-level', value: oneOf(LOG_LEVELS), default: 'info', meaning: 'pino log level' }),
  setting({
    variable: 'BAMBOO_LOG_FORMAT',
    flag: 'log-format',
    value: oneOf(['pretty', 'json']),
    default: undefined,
    defaultLabel: 'pretty on a terminal, else json',
    meaning: '`pretty`: one readable line per entry; `json`: one JSON object per line',
  }),
  setting({
    variable: 'OPENAI_BASE_URL',
    value: text,
    default: undefined,
    meaning: 'the `openai` agent\'s server (any OpenAI-compatible one); the agent is registered when this or `OPENAI_API_KEY` is set',
    secret: true,
    readBy: 'openai agent',
  }),
  setting({
    variable: 'OPENAI_API_KEY',
    value: text,
    default: undefined,
    meaning: "the `openai` agent's API key; the agent is registered when this or `OPENAI_BASE_URL` is set",
    secret: true,
    readBy: 'openai agent',
  }),
  setting({ variable: 'BAMBOO_MODEL', value: text, default: undefined, defaultLabel: DEFAULT_MODEL, meaning: "the `openai` agent's model", readBy: 'openai agent' }),
  setting({
    variable: 'BAMBOO_TEMPERATURE',
    value: text,
    default: undefined,
    meaning: "the `openai` agent's sampling temperature, `0` to `2` (unset: the server's default)",
    readBy: 'openai agent',
  }),
  setting({
    variable: 'BAMBOO_MAX_TOKENS',
    value: text,
    default: undefined,
    meaning: "the `openai` agent's limit on tokens per reply (unset: the server's default)",
    readBy: 'openai agent',
  }),
  setting({
    variable: 'BAMBOO_MAX_TOOL_ROUNDS',
    value: text,
    default: undefined,
    defaultLabel: String(DEFAULT_MAX_TOOL_ROUNDS),
    meaning: "the `openai` agent's limit on tool-call rounds per run",
    readBy: 'openai agent',
  }),
] as const;

type Entry = (typeof SETTINGS)[number];

/** The validated settings, keyed by variable; a setting without a default may be undefined. */
export type Config = {
  -readonly [S in Entry as S['variable']]: S extends Setting<string, infer T, infer Default> ? (undefined extends Default ? T | undefined : T) : never;
};

/** `--port`, or the variable when the setting has no flag. */
export function flagName(entry: Setting): string | undefined {
  return entry.flag && `--${entry.flag}`;
}

/** The default as text for `--help` and the README; undefined when there is none. */
export function defaultText(entry: Setting): string | undefined {
  if (entry.defaultLabel !== undefined) return entry.defaultLabel;
  return entry.default === undefined ? undefined : entry.value.format(entry.default);
}
