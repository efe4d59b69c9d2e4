/** A subcommand of `bamboo-server` (`serve`, later `keys …`): a small module dispatched by name from main.ts. */

export interface CommandContext {
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  version: string;
  /** The usage lines of every command, for help texts. */
  commands: readonly Command[];
}

export interface Command {
  name: string;
  /** One line of usage and one of summary, listed by `bamboo-server --help`. */
  usage: string;
  summary: string;
  /**
   * Runs with the arguments after the command's name. Resolves to an exit
   * code when the command is done; a server resolves once it is listening and
   * exits later from its signal handlers. Throws `ConfigError` for mistakes.
   */
  run(argv: string[], context: CommandContext): Promise<number | undefined>;
}
