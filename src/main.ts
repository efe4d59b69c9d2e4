/** `npm start`: configuration, start-up, graceful shutdown. */
import pino from 'pino';
import { openAIAgentFromEnv } from './agents/openai/index.js';
import { loadConfig } from './config.js';
import { startInspector } from './runtime/inspector.js';
import { createServer } from './server.js';

const logger = pino({ level: process.env.BAMBOO_LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  logger.level = config.BAMBOO_LOG_LEVEL;

  // Off by default: inspecting every actor costs throughput.
  const inspector = config.BAMBOO_INSPECT ? await startInspector({ port: config.BAMBOO_INSPECT_PORT }) : undefined;
  // Available whenever a key or a base URL is set; a bad setting stops start-up with a clear message.
  const openai = openAIAgentFromEnv(process.env);

  const server = await createServer({
    agents: openai ? { openai } : {},
    dbPath: config.BAMBOO_DB,
    defaultAgent: config.BAMBOO_AGENT,
    tokenDelayMs: config.BAMBOO_TOKEN_DELAY_MS,
    maxLiveActors: config.BAMBOO_MAX_LIVE_ACTORS,
    resumeInterrupted: config.BAMBOO_RESUME_INTERRUPTED,
    port: config.PORT,
    host: config.HOST,
    logger,
    inspector,
  });
  if (inspector) {
    logger.info({ inspector: inspector.pageUrl, ws: inspector.url }, inspector.instructions);
  }
  logger.info({ url: server.url, db: config.BAMBOO_DB, agents: server.runtime.agentNames }, `Bamboo Server listening on ${server.url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server
      .close()
      .then(() => inspector?.stop())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// One session's failure must never take the others down.
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

main().catch((err: unknown) => {
  logger.fatal({ err }, 'could not start');
  process.exit(1);
});
