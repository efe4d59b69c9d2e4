/** Creates a database file's folder. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates `folder` and its missing parents, one at a time, failing as the
 * first one that cannot be made fails. Node 20's `mkdirSync(…, { recursive })`
 * never returns where the kernel answers ENOENT for a folder whose parent
 * exists (under /proc).
 */
export function makeFolder(folder: string): void {
  const missing: string[] = [];
  for (let at = folder; !existsSync(at) && dirname(at) !== at; at = dirname(at)) missing.unshift(at);
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (error) {
      // Made meanwhile by another process: fine.
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
  }
}
