/**
 * Human-readable log lines for a terminal: `12:00:01.234 INFO  message key=value`.
 * pino writes one JSON line per entry; this formats it in-process and at once,
 * so a fatal line printed just before `process.exit` is never lost (a worker
 * thread transport could drop it). pino-pretty would do the same, but its
 * current dependencies require a newer Node.js than this project supports.
 */

const LEVELS: Record<number, { name: string; colour: number }> = {
  10: { name: 'TRACE', colour: 90 },
  20: { name: 'DEBUG', colour: 36 },
  30: { name: 'INFO', colour: 32 },
  40: { name: 'WARN', colour: 33 },
  50: { name: 'ERROR', colour: 31 },
  60: { name: 'FATAL', colour: 35 },
};

/** Fields every entry has, or that only matter to machines. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err', 'req', 'res', 'responseTime']);

interface Line {
  level: number;
  time?: number;
  msg?: string;
  err?: { type?: string; message?: string; stack?: string };
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  [key: string]: unknown;
}

export interface PrettyStream {
  write(chunk: string): void;
}

export function prettyStream(out: NodeJS.WritableStream, colours: boolean): PrettyStream {
  const paint = (code: number, text: string) => (colours ? `\u001b[${code}m${text}\u001b[39m` : text);
  return {
    write(chunk) {
      for (const json of chunk.split('\n')) {
        if (json) out.write(`${formatLine(json, paint)}\n`);
      }
    },
  };
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  // A list of names reads better as `demo,openai` than as JSON.
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object')) return value.join(',');
  return JSON.stringify(value);
}

export function formatLine(json: string, paint: (code: number, text: string) => string = (_code, text) => text): string {
  let entry: Line;
  try {
    entry = JSON.parse(json) as Line;
  } catch {
    return json;
  }
  const level = LEVELS[entry.level] ?? { name: String(entry.level), colour: 39 };
  const time = new Date(entry.time ?? Date.now()).toISOString().slice(11, 23);
  const parts = [paint(90, time), paint(level.colour, level.name.padEnd(5))];
  if (entry.req && entry.res) parts.push(`${entry.req.method} ${entry.req.url} ${entry.res.statusCode} ${entry.responseTime ?? '?'}ms`);
  if (entry.msg) parts.push(entry.msg);
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    parts.push(paint(90, `${key}=${show(value)}`));
  }
  let line = parts.join(' ');
  // Errors keep their stack, indented under the entry, so a fatal start-up error shows where it came from.
  if (entry.err) line += `\n    ${(entry.err.stack ?? `${entry.err.type}: ${entry.err.message}`).replace(/\n/g, '\n    ')}`;
  return line;
}
