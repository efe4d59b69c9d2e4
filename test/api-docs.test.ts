/** docs/API.md keeps up with the code: every endpoint, error code and event type is in its tables, and what it quotes is what the server writes. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '../machines/session.machine.js';
import { machineJson, toMermaid } from '../src/diagrams/index.js';
import { EVENT_TYPES } from '../src/domain/events.js';
import { statusOf } from '../src/http/errors.js';
import { ERROR_CODES } from '../src/http/openapi/bodies.js';
import { OPERATIONS } from '../src/http/openapi/operations.js';

const doc = readFileSync(new URL('../docs/API.md', import.meta.url), 'utf8');
/** The first cells of the table rows. */
const firstCells = [...doc.matchAll(/^\| (.+?) \|/gm)].map(([, cell]) => cell);

describe('docs/API.md', () => {
  it('lists every endpoint in its endpoint table', () => {
    for (const op of OPERATIONS) {
      const endpoint = `${op.method.toUpperCase()} ${op.path}`;
      // The service endpoints share one row: `GET /healthz` · `/readyz` · `/metrics`.
      const listed = firstCells.some((cell) => cell.includes(`\`${endpoint}\``) || (op.tag === 'Service' && cell.includes(`\`${op.path}\``)));
      expect(listed, endpoint).toBe(true);
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

  it('describes every event type', () => {
    for (const type of EVENT_TYPES) expect(firstCells, type).toContain(`\`${type}\``);
  });
});
