/**
 * Parent side of a server under test: a folder in the run's directory for its
 * database and its log, the child process with stdout pointed at
 * `server.log` (as `npm start > server.log` would), and the size of that log.
 */
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BambooServerApi, StartInput } from '../servers/bamboo.js';
import { Child } from './child.js';
import { scratchDir } from './run-dir.js';

export class BambooProcess {
  url = '';
  pid = 0;

  private constructor(
    readonly child: Child<BambooServerApi>,
    readonly dir: string,
    readonly logFile: string,
  ) {}

  /** Starts the process; `start` then opens the store and listens. */
  static launch(label = 'bamboo'): BambooProcess {
    const dir = scratchDir(label);
    const logFile = join(dir, 'server.log');
    const fd = openSync(logFile, 'a');
    try {
      return new BambooProcess(Child.start<BambooServerApi>('servers/bamboo.ts', { label, stdout: fd }), dir, logFile);
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(fd);
    }
  }

  async start(options: Omit<StartInput, 'dir'> = {}): Promise<string> {
    const { url, pid } = await this.child.call('start', { ...options, dir: this.dir });
    this.url = url;
    this.pid = pid;
    return url;
  }

  /** Bytes logged so far. */
  logBytes(): number {
    return statSync(this.logFile).size;
  }

  /** The log's JSON lines written from byte `from` on (the lines a reader of the file would see), those holding `containing` if given. */
  logLines(from = 0, containing?: string): Record<string, unknown>[] {
    const text = readFileSync(this.logFile).subarray(from).toString('utf8');
    return text
      .split('\n')
      .filter((line) => line.startsWith('{') && line.endsWith('}') && (containing === undefined || line.includes(containing)))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** Log bytes per request (or per turn), for a row's note. */
export function logNote(bytes: number, per: number, unit: string): string {
  return `server log (level info, JSON to a file): ${per > 0 ? Math.round(bytes / per) : 0} bytes per ${unit}`;
}

/** Warnings and errors the servers logged from the byte offsets `from` on, as `"message" ×n`; empty when none. */
export function logWarnings(servers: readonly BambooProcess[], from: readonly number[]): string {
  const counts = new Map<string, number>();
  servers.forEach((server, i) => {
    for (const line of server.logLines(from[i])) {
      if (typeof line.level === 'number' && line.level >= 40) counts.set(String(line.msg), (counts.get(String(line.msg)) ?? 0) + 1);
    }
  });
  return [...counts].map(([message, n]) => `"${message}" ×${n}`).join(', ');
}
