#!/usr/bin/env node
/**
 * `bamboo-server`: dispatches to a command by name (`serve` when none is
 * given). A configuration mistake is one line on stderr and exit code 2;
 * anything else that fails at start is the server's fault: detail and exit 1.
 */
import type { Command, CommandContext } from './command.js';
import { keys } from './commands/keys.js';
import { serve } from './commands/serve.js';
import { checkFlagsTakenByNpm } from './checks.js';
import { ConfigError } from './config.js';
import { packageVersion } from './version.js';

const COMMANDS: readonly Command[] = [serve, keys];

async function main(argv: string[], context: Omit<CommandContext, 'commands'>): Promise<number | undefined> {
  checkFlagsTakenByNpm(context.env, argv);
  const named = argv[0] !== undefined && !argv[0].startsWith('-');
  const command = named ? COMMANDS.find((candidate) => candidate.name === argv[0]) : serve;
  if (!command) {
    throw new ConfigError(`unknown command ${JSON.stringify(argv[0])}; commands: ${COMMANDS.map((c) => c.name).join(', ')} (see bamboo-server --help)`);
  }
  return command.run(named ? argv.slice(1) : argv, { ...context, commands: COMMANDS });
}

main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, version: packageVersion() }).then(
  (code) => {
    // Exit once stdout has taken what was written (help can be long); a server returns no code and keeps running.
    if (code !== undefined) process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`bamboo-server: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bamboo-server: internal error at start: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
