/** `bamboo-server --help` and `--version`, and the README's configuration table, all from the settings table. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsMarkdown } from '../../src/cli/help.js';
import { defaultText, SETTINGS, type Setting } from '../../src/cli/settings.js';
import { ROOT, runCli } from './run.js';

const settings = SETTINGS as readonly Setting[];
const version = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;

describe('bamboo-server --help', () => {
  it('lists every flag and variable with its default and meaning, and exits 0', async () => {
    const { code, stdout, stderr } = await runCli(['--help'], { PORT: 'not a port' });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('bamboo-server [serve] [flags]');
    const lines = stdout.split('\n');
    for (const entry of settings) {
      // The entry's first line: its flag (when it has one), its variable and its default.
      const head = lines.findIndex((line) => new RegExp(`^  (--\\S+( <\\S+>)?)?\\s+${entry.variable}(\\s|$)`).test(line));
      expect(head, entry.variable).toBeGreaterThan(-1);
      // A flag too wide for its column has the line above to itself.
      if (entry.flag) expect(`${lines[head - 1]}\n${lines[head]}`, entry.variable).toMatch(new RegExp(`^  --${entry.flag}\\b|\\n  --${entry.flag}\\b`));
      // Every variable starts in the same column.
      expect(lines[head]!.indexOf(entry.variable), entry.variable).toBe(lines.find((line) => line.includes(' PORT '))!.indexOf('PORT'));
      const shown = defaultText(entry);
      if (shown !== undefined) expect(lines[head], entry.variable).toContain(`default: ${shown}`);
      // Then its meaning, wrapped and without Markdown.
      const meaning = lines.slice(head + 1).join(' ').replace(/\s+/g, ' ');
      expect(meaning, entry.variable).toContain(entry.meaning.replace(/`/g, '').split(' ').slice(0, 6).join(' '));
    }
  });

  it('is the same for -h and for the serve command', async () => {
    const [long, short, serve] = await Promise.all([runCli(['--help']), runCli(['-h']), runCli(['serve', '--help'])]);
    expect(short.stdout).toBe(long.stdout);
    expect(serve.stdout).toBe(long.stdout);
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${version}\n`);
    expect((await runCli(['-v'])).stdout).toBe(`${version}\n`);
  });
});

describe('the settings table', () => {
  it("is the README's configuration table", () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    const table = /<!-- settings -->\n([\s\S]*?)\n<!-- \/settings -->/.exec(readme)?.[1];
    expect(table, 'README.md has no <!-- settings --> block').toBeDefined();
    // Regenerate with: npm run readme
    expect(table).toBe(settingsMarkdown());
  });

  it('names each variable and flag once', () => {
    const variables = settings.map((entry) => entry.variable);
    const flags = settings.flatMap((entry) => (entry.flag ? [entry.flag] : []));
    expect(new Set(variables).size).toBe(variables.length);
    expect(new Set(flags).size).toBe(flags.length);
    expect(flags).not.toContain('help');
    expect(flags).not.toContain('version');
  });
});
