/** The package's version, read from its package.json (two levels up from source, three from dist/). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function packageVersion(): string {
  const file = ['../../package.json', '../../../package.json']
    .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
    .find((candidate) => existsSync(candidate));
  if (!file) throw new Error('package.json not found next to the bamboo-server sources');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
