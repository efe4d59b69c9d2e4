/**
 * docs/API.md keeps up with the code: every endpoint, error code, metric and
 * event type is in its tables, the limits show the settings' defaults, and
 * what it quotes is what the server writes. The README names the same
 * endpoints, and its layout every part of src/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '../machines/session.machine.js';
import { SETTINGS, type Setting } from '../src/cli/settings.js';
import { machineJson, toMermaid } from '../src/diagrams/index.js';
import { EVENT_TYPES } from '../src/domain/events.js';
import { statusOf } from '../src/http/errors.js';
import { ERROR_CODES } from '../src/http/openapi/bodies.js';
import { OPERATIONS } from '../src/http/openapi/operations.js';
import { session } from '../src/http/openapi/resources.js';

const doc = readFileSync(new URL('../docs/API.md', import.meta.url), 'utf8');
/** The first cells of the table rows. */
const firstCells = [...doc.matchAll(/^\| (.+?) \|/gm)].map(([, cell]) => cell);
/** The rows of the tables under Limits. */
const limitRows = (/\n## Limits\n([\s\S]*?)\n## /.exec(doc)?.[1] ?? '').split('\n').filter((line) => line.startsWith('| '));

/** A default as the Limits tables write it: 64 MiB, 10 s, 10,000. */
function written(entry: Setting & { default: number }): string {
  const MiB = 1024 * 1024;
  if (entry.default >= MiB && entry.default % MiB === 0) return `${entry.default / MiB} MiB`;
  if (entry.variable.endsWith('_MS') && entry.default % 1000 === 0) return `${entry.default / 1000} s`;
  return entry.default.toLocaleString('en-US');
}

describe('docs/API.md', () => {
  it('lists every endpoint in its endpoint table', () => {
    for (const op of OPERATIONS) {
      const endpoint = `${op.method.toUpperCase()} ${op.path}`;
      // The service endpoints share one row: `GET /healthz` · `/readyz` · `/metrics`.
      const listed = firstCells.some((cell) => cell.includes(`\`${endpoint}\``) || (op.tag === 'Service' && cell.includes(`\`${op.path}\``)));
      expect(listed, endpoint).toBe(true);
    }
  });

  it('names no endpoint that does not exist, and neither does the README, which names every one', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const served = OPERATIONS.map((op) => `${op.method.toUpperCase()} ${op.path}`);
    // `POST /sessions` in the README's brief table is under the base path /api/v1.
    const named = (text: string) =>
      [...text.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)[^`]*`/g)].map(([, method, path]) =>
        `${method} ${path!.startsWith('/api/v1/') || /^\/(healthz|readyz|metrics)$/.test(path!) ? path : `/api/v1${path}`}`,
      );
    for (const endpoint of [...named(doc), ...named(readme)]) expect(served, endpoint).toContain(endpoint);
    const inReadme = new Set(named(readme));
    for (const op of OPERATIONS) {
      // The service endpoints share one row: `GET /healthz` · `/readyz` · `/metrics`.
      if (op.tag === 'Service') expect(readme.includes(`\`${op.path}\``) || readme.includes(`\`GET ${op.path}\``), op.path).toBe(true);
      else expect(inReadme.has(`${op.method.toUpperCase()} ${op.path}`), `${op.method} ${op.path}`).toBe(true);
    }
  });

  it('gives every error code its status', () => {
    for (const code of ERROR_CODES) expect(doc, code).toContain(`| \`${code}\` | ${statusOf(code)} |`);
  });

  it("quotes the beginning of the statechart's Mermaid text as the server writes it", () => {
    const quoted = /The Mermaid text begins:\n\n```\n([^`]+)```/.exec(doc)?.[1];
    expect(quoted).toBeDefined();
    expect(toMermaid(machineJson(sessionMachine)).startsWith(quoted!)).toBe(true);
  });

  it("gives each setting its Limits tables name the setting's default, and says so where 0 turns it off", () => {
    const named = (SETTINGS as readonly Setting[]).filter((entry) => limitRows.some((row) => row.includes(`\`${entry.variable}\``)));
    expect(named.length).toBeGreaterThan(10);
    for (const entry of named) {
      const row = limitRows.find((line) => line.includes(`\`${entry.variable}\``))!;
      if (typeof entry.default === 'number' && entry.default > 0) expect(row, entry.variable).toContain(written(entry as Setting & { default: number }));
      if (entry.meaning.includes('`0`: no limit')) expect(row, entry.variable).toContain('(`0`: off)');
    }
  });

  it('names every metric of /metrics', () => {
    const source = readFileSync(new URL('../src/http/metrics.ts', import.meta.url), 'utf8');
    const metrics = [...source.matchAll(/'(bamboo_[a-z_]+)'/g)].map(([, name]) => name!);
    expect(metrics.length).toBeGreaterThan(10);
    const row = doc.split('\n').find((line) => line.startsWith('| `GET /metrics` |'))!;
    for (const name of metrics) expect(row, name).toMatch(new RegExp(`\`${name}[\`{]`));
  });

  it("README's layout names every folder and module at the top of src/", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const layout = /## Layout\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const top = readdirSync(new URL('../src/', import.meta.url), { withFileTypes: true }).map((entry) => `src/${entry.name}${entry.isDirectory() ? '/' : ''}`);
    for (const entry of top) expect(layout, entry).toMatch(new RegExp(`^${entry.replace('.', '\\.')}\\s`, 'm'));
  });

  it('shows sessions as the server sends them: every example of a session has exactly its fields', () => {
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].flatMap(([, text]) => {
      try {
        return [JSON.parse(text!) as Record<string, unknown>];
      } catch {
        return []; // A sketch with `…`, not a whole answer.
      }
    });
    const sessions = examples.flatMap((example) => (example.session ? [example.session] : 'has_pending_work' in example ? [example] : []));
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    for (const example of sessions) expect(session.safeParse(example).error?.issues ?? [], JSON.stringify(example)).toEqual([]);
  });

  it('describes every event type', () => {
    for (const type of EVENT_TYPES) expect(firstCells, type).toContain(`\`${type}\``);
  });
});
