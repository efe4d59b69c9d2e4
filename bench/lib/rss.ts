/**
 * Samples another process's resident set size from the parent, which is idle
 * while the children work: reading /proc costs the measured process nothing
 * and does not wait for its event loop. Linux only; elsewhere `read` is asked.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface RssSampler {
  /** The largest sample since the last `peak` (or the start), in MB. */
  peak(): number;
  stop(): void;
}

function procRss(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) / 1024 : Number.NaN;
}

export function sampleRss(pid: number, everyMs: number, read: () => Promise<number>): RssSampler {
  const fromProc = existsSync(`/proc/${pid}/status`);
  let peak = 0;
  const take = async () => {
    const mb = fromProc ? procRss(pid) : await read();
    if (mb > peak) peak = mb;
  };
  void take().catch(() => undefined);
  const timer = setInterval(() => void take().catch(() => undefined), everyMs);
  return {
    peak: () => {
      const seen = peak;
      peak = 0;
      return seen;
    },
    stop: () => clearInterval(timer),
  };
}
