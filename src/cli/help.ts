/** `--help` and the README's configuration table, both written from the settings table. */
import { defaultText, flagName, SETTINGS, type Setting } from './settings.js';

export interface CommandSummary {
  usage: string;
  summary: string;
}

const WIDTH = 80;
const FLAG_WIDTH = 26;

export function helpText(version: string, commands: readonly CommandSummary[]): string {
  const usageWidth = Math.max(...commands.map((command) => command.usage.length));
  const lines = [
    `bamboo-server ${version}: runs AI-agent sessions behind an HTTP API`,
    '',
    'Usage:',
    ...commands.map((command) => `  ${command.usage.padEnd(usageWidth)}  ${command.summary}`),
    '',
    'Settings: each is an environment variable; most have a flag too, which wins.',
    'An empty variable counts as unset.',
    '',
    ...settingsHelp(SETTINGS),
  ];
  return `${lines.join('\n')}\n`;
}

function settingsHelp(settings: readonly Setting[]): string[] {
  const flags = settings.map((entry) => (entry.flag ? `${flagName(entry)} ${entry.value.placeholder}`.trimEnd() : ''));
  // Capped, so that one long placeholder does not push every variable to the right.
  const flagWidth = Math.min(FLAG_WIDTH, Math.max(...flags.map((flag) => flag.length)));
  const variableWidth = Math.max(...settings.map((entry) => entry.variable.length));
  return settings.flatMap((entry, i) => {
    const shown = defaultText(entry);
    // A flag wider than its column goes on a line of its own, so the variables stay in one column.
    const flag = flags[i]!.length > flagWidth ? '' : flags[i]!;
    const head = `  ${flag.padEnd(flagWidth)}  ${entry.variable.padEnd(variableWidth)}  ${shown === undefined ? '' : `default: ${shown}`}`;
    return [...(flag === flags[i] ? [] : [`  ${flags[i]}`]), head.trimEnd(), ...wrap(plain(entry.meaning), WIDTH - 6).map((line) => `      ${line}`)];
  });
}

/** The README's configuration table, in Markdown. */
export function settingsMarkdown(settings: readonly Setting[] = SETTINGS): string {
  const rows = settings.map((entry) => {
    const shown = defaultText(entry);
    const value = shown === undefined ? '—' : shown.includes(' ') ? shown : `\`${shown}\``;
    const flag = entry.flag ? `\`${flagName(entry)}\`` : '—';
    return `| \`${entry.variable}\` | ${flag} | ${value} | ${entry.meaning.replace(/\|/g, '\\|')} |`;
  });
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function plain(markdown: string): string {
  return markdown.replace(/`/g, '');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
