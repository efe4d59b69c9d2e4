/**
 * Runs `bamboo-server` from source in a child process (`node --import tsx`),
 * with a clean environment so the developer's own variables cannot leak in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): { output: { stdout: string; stderr: string }; exited: Promise<Finished> } {
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<Finished>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, ...output })));
  return { output, exited };
}

/** Runs to the end; a command that does not finish in `timeoutMs` is killed and fails the test. */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Finished> {
  const child = spawnCli(args, env);
  const { exited } = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const finished = await exited;
  clearTimeout(timer);
  if (finished.signal === 'SIGKILL') throw new Error(`bamboo-server ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${finished.stderr}`);
  return finished;
}

export interface RunningCli {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  /** The JSON log entries printed so far. */
  entries(): Record<string, unknown>[];
  /** Resolves with the first log entry that `match` accepts. */
  waitForEntry(match: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<Finished>;
}

/** Starts the server and resolves once it logged its URL. */
export async function startCli(args: string[], env: Record<string, string> = {}): Promise<RunningCli & { url: string }> {
  const child = spawnCli(args, { BAMBOO_LOG_FORMAT: 'json', ...env });
  const { output, exited } = collect(child);
  let finished: Finished | undefined;
  void exited.then((result) => (finished = result));
  const entries = () =>
    output.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const waitForEntry = async (match: (entry: Record<string, unknown>) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = entries().find(match);
      if (found) return found;
      if (finished) throw new Error(`bamboo-server exited (${finished.code}) before the expected log entry:\n${output.stdout}\n${output.stderr}`);
      if (Date.now() > deadline) throw new Error(`no such log entry within ${timeoutMs} ms:\n${output.stdout}\n${output.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!finished) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
  try {
    const started = await waitForEntry((entry) => typeof entry.url === 'string' && String(entry.msg).includes('listening on'));
    return { child, output, entries, waitForEntry, stop, url: started.url as string };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
}

/** A stack trace line, which a configuration error must never print. */
export const STACK_LINE = /^\s+at /m;
