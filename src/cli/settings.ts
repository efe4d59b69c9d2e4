/**
 * Every setting of `bamboo-server`, in one table: the environment variable,
 * its flag, the kind of value, the default and what it means. The parser, the
 * `Config` type, `--help`, log redaction and the README's configuration table
 * are all derived from it, so a new setting is one entry here.
 */
import { DEMO_TOKEN_DELAY_MS } from '../agents/demo.js';
import { DEFAULT_MAX_TOOL_ROUNDS, DEFAULT_MODEL } from '../agents/openai/index.js';
import { DEFAULT_LIMITS, KEYED_DEFAULTS } from '../options.js';
import { DEFAULT_LEASE_MS, RUNTIME_DEFAULTS } from '../runtime/runtime.js';
import { DEFAULT_POOL_SIZE } from '../storage/postgres/connection.js';
import { apiKeys, database, hostNames, integer, milliseconds, origins, oneOf, port, text, toggle, urls, type Value, webhookSecret } from './values.js';

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
    value: database,
    default: './data/bamboo.db',
    meaning:
      'SQLite file (created with its folder); `:memory:` for throw-away runs; or `postgres://user[:password]@host:port/database` to share one PostgreSQL database among several instances',
  }),
  setting({ variable: 'BAMBOO_AGENT', flag: 'agent', value: text, default: 'demo', meaning: 'agent for sessions that name none' }),
  setting({ variable: 'BAMBOO_TOKEN_DELAY_MS', flag: 'token-delay-ms', value: milliseconds(0), default: DEMO_TOKEN_DELAY_MS, meaning: 'demo agent pause between tokens' }),
  setting({
    variable: 'BAMBOO_MAX_LIVE_ACTORS',
    flag: 'max-live-actors',
    value: integer(1),
    default: RUNTIME_DEFAULTS.maxLiveActors,
    meaning: 'live actors kept before the least recently used idle ones are passivated',
  }),
  setting({
    variable: 'BAMBOO_RESUME_INTERRUPTED',
    flag: 'resume-interrupted',
    value: toggle,
    default: false,
    meaning: '`1`: resume at start-up the sessions whose run a crash or a shutdown interrupted (on PostgreSQL, also runs whose lease expired while the server runs)',
  }),
  setting({
    variable: 'BAMBOO_LEASE_MS',
    flag: 'lease-ms',
    value: milliseconds(100),
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
  setting({
    variable: 'BAMBOO_DB_CONNECTIONS',
    value: integer(1),
    default: DEFAULT_POOL_SIZE,
    meaning: 'PostgreSQL connections this instance opens at most (one more listens for the others\' news)',
  }),
  setting({ variable: 'BAMBOO_INSPECT', flag: 'inspect', value: toggle, default: false, meaning: '`1`: start the Stately inspector, a live view of the sessions\' statecharts (its URL, with a token, is logged at start)' }),
  setting({ variable: 'BAMBOO_INSPECT_PORT', flag: 'inspect-port', value: port, default: 5678, meaning: "the inspector's port on 127.0.0.1" }),
  setting({
    variable: 'BAMBOO_API_KEYS',
    value: apiKeys,
    default: undefined,
    meaning: 'API keys as comma-separated `tenant:key` pairs (keys of 24+ characters), beside those made with `bamboo-server keys create`; with any key, every API call needs one',
    secret: true,
  }),
  setting({
    variable: 'BAMBOO_ALLOWED_HOSTS',
    value: hostNames,
    default: undefined,
    defaultLabel: 'loopback names and HOST',
    meaning: 'more `Host` names to serve, comma-separated (`*`: any); other names get `421` (a DNS-rebinding guard)',
  }),
  setting({
    variable: 'BAMBOO_CORS_ORIGINS',
    value: origins,
    default: undefined,
    defaultLabel: 'none',
    meaning: 'browser origins allowed to call the API (CORS), comma-separated, e.g. `https://app.example.com`',
  }),
  setting({
    variable: 'BAMBOO_RATE_LIMIT',
    value: integer(0),
    default: undefined,
    defaultLabel: `${KEYED_DEFAULTS.rateLimitPerMinute} with API keys, else off`,
    meaning: 'requests per minute per tenant (`0`: no limit)',
  }),
  setting({
    variable: 'BAMBOO_MAX_RUNS_PER_TENANT',
    value: integer(0),
    default: undefined,
    defaultLabel: `${KEYED_DEFAULTS.maxRunsPerTenant} with API keys, else off`,
    meaning: 'concurrent runs per tenant; a start over it answers `429 too_many_runs` (`0`: no limit)',
  }),
  setting({
    variable: 'BAMBOO_MAX_STREAMS_PER_TENANT',
    value: integer(0),
    default: undefined,
    defaultLabel: `${KEYED_DEFAULTS.maxStreamsPerTenant} with API keys, else off`,
    meaning: 'open event streams per tenant (`0`: no limit)',
  }),
  setting({
    variable: 'BAMBOO_ALLOW_UNAUTHENTICATED',
    value: toggle,
    default: false,
    meaning: '`1`: start on a non-loopback HOST without any API key (warned at every start)',
  }),
  setting({
    variable: 'BAMBOO_INSPECT_ALLOW_WITH_KEYS',
    value: toggle,
    default: false,
    meaning: '`1`: allow the inspector although API keys exist (it shows every tenant\'s sessions)',
  }),
  setting({ variable: 'BAMBOO_MAX_QUEUED', value: integer(0), default: RUNTIME_DEFAULTS.maxQueued, meaning: 'messages a session may have queued (`multitask_strategy: enqueue`); more get `409 queue_full` (`0`: no limit)' }),
  setting({ variable: 'BAMBOO_MAX_STREAMS', value: integer(0), default: DEFAULT_LIMITS.maxStreams, meaning: 'open event streams in all; more are refused with `503` (`0`: no limit)' }),
  setting({ variable: 'BAMBOO_MAX_STREAMS_PER_SESSION', value: integer(0), default: DEFAULT_LIMITS.maxStreamsPerSession, meaning: 'open event streams of one session; more get `429 too_many_streams` (`0`: no limit)' }),
  setting({ variable: 'BAMBOO_MAX_STREAMS_PER_CLIENT', value: integer(0), default: DEFAULT_LIMITS.maxStreamsPerClient, meaning: 'open event streams of one client address; more get `429 too_many_streams` (`0`: no limit)' }),
  setting({
    variable: 'BAMBOO_SSE_BUFFER_BYTES',
    value: integer(0),
    default: DEFAULT_LIMITS.sseBufferedBytes,
    meaning: 'bytes buffered for slow event streams, all together, before the slowest are cut (they resume with `Last-Event-ID`; `0`: no limit)',
  }),
  setting({ variable: 'BAMBOO_PAGE_BYTES', value: integer(1024), default: DEFAULT_LIMITS.pageBytes, meaning: 'bytes of one page of events or messages (a page always holds one item)' }),
  setting({ variable: 'BAMBOO_MAX_CONNECTIONS', value: integer(0), default: DEFAULT_LIMITS.maxConnections, meaning: 'open connections in all; more are refused (`0`: no limit)' }),
  setting({ variable: 'BAMBOO_MAX_CONNECTIONS_PER_CLIENT', value: integer(0), default: DEFAULT_LIMITS.maxConnectionsPerClient, meaning: 'open connections of one client address; more are answered `503` and closed (`0`: no limit)' }),
  setting({
    variable: 'BAMBOO_MAX_LIVE_BYTES',
    value: integer(1),
    default: RUNTIME_DEFAULTS.maxLiveBytes,
    meaning: 'estimated memory of live actors before the least recently used idle ones are passivated',
  }),
  setting({ variable: 'BAMBOO_QUOTA_SESSIONS', value: integer(0), default: 0, meaning: 'sessions per tenant; more get `429 quota_exceeded` (`0`: no quota)' }),
  setting({ variable: 'BAMBOO_QUOTA_BYTES', value: integer(0), default: 0, meaning: 'bytes of stored sessions per tenant; past it, new sessions and messages get `429 quota_exceeded` (`0`: no quota)' }),
  setting({ variable: 'BAMBOO_RETENTION_DAYS', value: integer(0, 36_500), default: 0, meaning: 'delete sessions idle for longer than this many days, with their logs, hourly (`0`: keep everything)' }),
  setting({
    variable: 'BAMBOO_WEBHOOK_URL',
    value: urls,
    default: undefined,
    defaultLabel: 'none',
    meaning:
      'webhook receivers, comma-separated `http(s)://` URLs: each is sent every run ending (`run.completed`, `run.awaiting_user`, `run.failed`, `run.cancelled`, `run.interrupted`), signed, retried for 24 h; needs `BAMBOO_WEBHOOK_SECRET`',
    // A receiver's URL may carry a token (in its query or as a password).
    secret: true,
  }),
  setting({
    variable: 'BAMBOO_WEBHOOK_SECRET',
    value: webhookSecret,
    default: undefined,
    meaning: 'the webhooks\' signing secret, `whsec_` and the base64 of 24 to 64 random bytes (Standard Webhooks)',
    secret: true,
  }),
  setting({ variable: 'BAMBOO_SHUTDOWN_GRACE_MS', value: milliseconds(0), default: 10_000, meaning: 'how long shutdown waits for requests in flight' }),
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
