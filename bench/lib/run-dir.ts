/**
 * The run's temporary directory: each server under test gets a folder in it
 * for its database file and its log. Removed when the run ends, unless a
 * scenario crashed (its servers' logs are then worth reading).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;

export function runDir(): string {
  dir ??= mkdtempSync(join(tmpdir(), 'bamboo-bench-'));
  return dir;
}

/** A new folder in the run's directory, named after `label`. */
export function scratchDir(label: string): string {
  return mkdtempSync(join(runDir(), `${label}-`));
}

export function removeRunDir(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}
