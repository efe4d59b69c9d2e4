/** `bamboo-server [serve]`: check the configuration, start the server, log where it is, shut down on a signal. */
import type { Logger } from 'pino';
import type { Agent } from '../../agents/agent.js';
import { openAIAgentFromEnv } from '../../agents/openai/index.js';
import { startInspector, type RunningInspector } from '../../runtime/inspector.js';
import { defaultInstanceId } from '../../runtime/runtime.js';
import { createServer, type BambooServer, type ResourceLimits, UnsafeConfiguration } from '../../server.js';
import { openStore } from '../../storage/open-store.js';
import type { Store } from '../../storage/store.js';
import { shownDatabase } from '../../storage/postgres/connection.js';
import { checkAgent, checkDatabase, databaseError, listenError } from '../checks.js';
import type { Command, CommandContext } from '../command.js';
import { ConfigError, flagOptions, parseFlags, resolveConfig } from '../config.js';
import { helpText } from '../help.js';
import { createLogger, exitAfterLogs } from '../logger.js';
import type { Config } from '../settings.js';

export const serve: Command = {
  name: 'serve',
  usage: 'bamboo-server [serve] [flags]',
  summary: 'start the server (the default command)',
  async run(argv, context) {
    const flags = parseFlags(argv, flagOptions({ help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } }));
    if (flags.help) {
      context.stdout.write(helpText(context.version, context.commands));
      return 0;
    }
    if (flags.version) {
      context.stdout.write(`${context.version}\n`);
      return 0;
    }
    // Validated before the logger exists: a bad log level must be a config error, not a crash inside pino.
    const config = resolveConfig(flags, context.env);
    const instanceId = config.BAMBOO_INSTANCE_ID ?? defaultInstanceId();
    const logger = createLogger(config, context.stdout, instanceId);
    // Secret settings are redacted by the logger (REDACTED_PATHS); a database URL's password here.
    logger.debug({ config: { ...config, BAMBOO_DB: shownDatabase(config.BAMBOO_DB) } }, 'configuration');
    // One session's failure must never take the others down.
    process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
    try {
      const running = await start(config, instanceId, context, logger);
      stopOnSignals(running, logger);
      return undefined;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      logger.fatal({ err: error }, 'could not start');
      return 1;
    }
  },
};

interface Running {
  server: BambooServer;
  inspector?: RunningInspector;
}

async function start(config: Config, instanceId: string, context: CommandContext, logger: Logger): Promise<Running> {
  const agents = openAIAgents(context.env);
  checkAgent(config.BAMBOO_AGENT, ['demo', ...Object.keys(agents)]);
  checkDatabase(config.BAMBOO_DB);
  const webhooks = webhookSettings(config);

  // Off by default: inspecting every actor costs throughput.
  const inspector = config.BAMBOO_INSPECT
    ? await startInspector({ port: config.BAMBOO_INSPECT_PORT }).catch((error: unknown) => {
        throw listenError(error, 'BAMBOO_INSPECT_PORT', config.BAMBOO_INSPECT_PORT, '127.0.0.1');
      })
    : undefined;
  try {
    // A SQLite file, or PostgreSQL with the feed that carries other instances' news; createServer closes both on failure.
    const { store, feed } = await openStore(config.BAMBOO_DB, { instanceId, logger, maxConnections: config.BAMBOO_DB_CONNECTIONS }).catch((error: unknown) => {
      throw databaseError(error, config.BAMBOO_DB);
    });
    const server = await createServer({
      agents,
      store,
      feed: feed ?? undefined,
      instanceId,
      leaseMs: config.BAMBOO_LEASE_MS,
      defaultAgent: config.BAMBOO_AGENT,
      tokenDelayMs: config.BAMBOO_TOKEN_DELAY_MS,
      maxLiveActors: config.BAMBOO_MAX_LIVE_ACTORS,
      resumeInterrupted: config.BAMBOO_RESUME_INTERRUPTED,
      port: config.PORT,
      host: config.HOST,
      logger,
      inspector,
      shutdownGraceMs: config.BAMBOO_SHUTDOWN_GRACE_MS,
      maxQueued: config.BAMBOO_MAX_QUEUED,
      limits: limitsOf(config),
      access: {
        apiKeys: config.BAMBOO_API_KEYS,
        allowedHosts: config.BAMBOO_ALLOWED_HOSTS?.includes('*') ? '*' : config.BAMBOO_ALLOWED_HOSTS,
        corsOrigins: config.BAMBOO_CORS_ORIGINS,
        rateLimitPerMinute: config.BAMBOO_RATE_LIMIT,
        maxRunsPerTenant: config.BAMBOO_MAX_RUNS_PER_TENANT,
        maxStreamsPerTenant: config.BAMBOO_MAX_STREAMS_PER_TENANT,
        allowUnauthenticated: config.BAMBOO_ALLOW_UNAUTHENTICATED,
        inspectorWithKeys: config.BAMBOO_INSPECT_ALLOW_WITH_KEYS,
      },
      webhooks,
    }).catch((error: unknown) => {
      if (error instanceof UnsafeConfiguration) throw new ConfigError(error.message);
      throw databaseError(listenError(error, 'PORT', config.PORT, config.HOST), config.BAMBOO_DB);
    });
    logStarted(logger, config, context.version, server, store, inspector);
    return { server, inspector };
  } catch (error) {
    await inspector?.stop();
    throw error;
  }
}

/** The server's resource limits as the configuration sets them (also what the benchmark's server runs with). */
export function limitsOf(config: Config): ResourceLimits {
  return {
    maxStreams: config.BAMBOO_MAX_STREAMS,
    maxStreamsPerSession: config.BAMBOO_MAX_STREAMS_PER_SESSION,
    maxStreamsPerClient: config.BAMBOO_MAX_STREAMS_PER_CLIENT,
    sseBufferedBytes: config.BAMBOO_SSE_BUFFER_BYTES,
    pageBytes: config.BAMBOO_PAGE_BYTES,
    maxConnections: config.BAMBOO_MAX_CONNECTIONS,
    maxConnectionsPerClient: config.BAMBOO_MAX_CONNECTIONS_PER_CLIENT,
    maxLiveBytes: config.BAMBOO_MAX_LIVE_BYTES,
    quotaSessions: config.BAMBOO_QUOTA_SESSIONS,
    quotaBytes: config.BAMBOO_QUOTA_BYTES,
    retentionDays: config.BAMBOO_RETENTION_DAYS,
  };
}

/** Receivers need the secret to sign for them. */
function webhookSettings(config: Config): { urls: string[]; secret: string } | undefined {
  const urls = config.BAMBOO_WEBHOOK_URL ?? [];
  if (urls.length === 0) return undefined;
  if (!config.BAMBOO_WEBHOOK_SECRET) throw new ConfigError('BAMBOO_WEBHOOK_URL needs BAMBOO_WEBHOOK_SECRET: whsec_ and the base64 of 24 to 64 random bytes, to sign every delivery');
  return { urls, secret: config.BAMBOO_WEBHOOK_SECRET };
}

/** The openai agent when its variables are set; its own validation errors are configuration errors. */
function openAIAgents(env: CommandContext['env']): Record<string, Agent> {
  let openai: Agent | undefined;
  try {
    openai = openAIAgentFromEnv(env);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return openai ? { openai } : {};
}

function logStarted(logger: Logger, config: Config, version: string, server: BambooServer, store: Store, inspector?: RunningInspector): void {
  const { kind, location } = store;
  if (inspector) {
    logger.info({ inspector: inspector.pageUrl, ws: inspector.url }, inspector.instructions);
  }
  logger.info(
    {
      url: server.url,
      // A file path or `:memory:`; for PostgreSQL, the URL without its password.
      store: location,
      agents: server.runtime.agentNames,
      defaultAgent: config.BAMBOO_AGENT,
      console: `${server.url}/`,
      version,
      storeKind: kind,
      // Every JSON line carries it already (a second key would repeat it); readable lines name it here.
      ...('instance' in logger.bindings() ? {} : { instance: server.runtime.instanceId }),
    },
    `Bamboo Server ${version} listening on ${server.url}`,
  );
}

/** The one place shutdown reports what it interrupted: the sessions whose run it recorded `interrupted`. */
function logInterruptedRuns(logger: Logger, sessions: string[]): void {
  if (sessions.length === 0) {
    logger.info({ interrupted: 0 }, 'stopped; no run was in progress');
    return;
  }
  logger.warn(
    { interrupted: sessions.length, sessions },
    `stopped; interrupted ${sessions.length} run${sessions.length === 1 ? '' : 's'}, resumable with POST /api/v1/sessions/{id}/resume or --resume-interrupted`,
  );
}

function stopOnSignals({ server, inspector }: Running, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C means "now": runs not yet recorded are recovered as interrupted at the next start.
      logger.warn({ signal }, 'second signal; exiting without waiting');
      exitAfterLogs(logger, 1, 200);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server
      .close()
      .then(async (interrupted) => {
        await inspector?.stop();
        return interrupted;
      })
      .then(
        (interrupted) => {
          logInterruptedRuns(logger, interrupted);
          exitAfterLogs(logger, 0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          exitAfterLogs(logger, 1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
