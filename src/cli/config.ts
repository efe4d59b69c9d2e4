/**
 * Configuration from the environment, overridden by command-line flags, both
 * parsed by the table in settings.ts. Every mistake becomes a `ConfigError`:
 * one line naming the flag or variable and what it must be.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SETTINGS, type Config, type Setting } from './settings.js';

/** A mistake in what the user gave us: printed as one line, exit code 2, no stack. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Env = Readonly<Record<string, string | undefined>>;

/** The flags of every setting that has one, plus any extra options of the command (e.g. `help`). */
export function flagOptions(extra: Options = {}): Options {
  const options: Options = { ...extra };
  for (const entry of SETTINGS as readonly Setting[]) {
    if (entry.flag) options[entry.flag] = { type: entry.value.isSwitch ? 'boolean' : 'string' };
  }
  return options;
}

/** The help that lists a command's flags, which its errors point to. */
const SERVE_HELP = 'bamboo-server --help';

/** `parseArgs`, with its errors restated as one-line `ConfigError`s pointing to `help`. */
export function parseFlags(argv: string[], options: Options, help = SERVE_HELP): Record<string, string | boolean | undefined> {
  return parseArguments(argv, options, { allowPositionals: false, help }).flags;
}

/** Flags and the arguments that are not flags (a flag's value is never one of them). */
export function parseArguments(
  argv: string[],
  options: Options,
  { allowPositionals = true, help = SERVE_HELP }: { allowPositionals?: boolean; help?: string } = {},
): { flags: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { flags: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    throw new ConfigError(describeParseError(error, argv, options, help));
  }
}

function describeParseError(error: unknown, argv: string[], options: Options, help: string): string {
  const { code, message } = error as { code?: string; message: string };
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${option}; see ${help} for the flags`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const stray = /'([^']*)'/.exec(message)?.[1] ?? '';
      return valueOfSwitch(stray, argv, options) ?? `unexpected argument ${stray}; flags take the form --name value, see ${help}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('does not take an argument')
        ? `${option} takes no value: give ${option} alone, or set its environment variable to 0 or 1`
        : `${option} needs a value: ${option} VALUE`;
    default:
      return message;
  }
}

/** `--resume-interrupted 1`: a switch takes no value, so the value is a stray argument; say so. */
function valueOfSwitch(stray: string, argv: string[], options: Options): string | undefined {
  const before = argv[argv.indexOf(stray) - 1];
  const name = before?.startsWith('--') ? before.slice(2) : undefined;
  if (name === undefined || options[name]?.type !== 'boolean') return undefined;
  const entry = (SETTINGS as readonly Setting[]).find((candidate) => candidate.flag === name && candidate.value.isSwitch);
  if (!entry) return undefined;
  return `--${name} takes no value (got ${JSON.stringify(stray)}): give --${name} alone to turn it on, leave it out to keep it off (or set ${entry.variable} to 1 or 0)`;
}

/**
 * The settings from `env`, each overridden by its flag in `flags` (as parsed
 * by `parseFlags`). An empty variable counts as unset, as in most env files.
 */
export function resolveConfig(flags: Record<string, string | boolean | undefined>, env: Env): Config {
  const config: Record<string, unknown> = {};
  for (const entry of SETTINGS as readonly Setting[]) {
    const flag = entry.flag === undefined ? undefined : flags[entry.flag];
    // A switch given as a flag is on; `--inspect` has no value to parse.
    const [source, raw] =
      flag === true ? [`--${entry.flag}`, '1'] : typeof flag === 'string' ? [`--${entry.flag}`, flag] : [entry.variable, env[entry.variable]];
    if (raw === undefined || raw.trim() === '') {
      config[entry.variable] = entry.default;
      continue;
    }
    const parsed = entry.value.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = entry.secret ? '' : ` (got ${JSON.stringify(entry.value.shown?.(raw) ?? raw)})`;
      throw new ConfigError(`${source} ${parsed.error.issues[0]!.message}${shown}; see bamboo-server --help`);
    }
    config[entry.variable] = parsed.data;
  }
  return config as Config;
}

/** `resolveConfig(parseFlags(argv))`, for callers without options of their own. */
export function loadConfig(argv: string[], env: Env): Config {
  return resolveConfig(parseFlags(argv, flagOptions()), env);
}
