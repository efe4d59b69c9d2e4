/** The terminal log format: one readable line per entry, request lines compact, errors with their stack. */
import { describe, expect, it } from 'vitest';
import { formatLine, prettyStream } from '../../src/cli/pretty.js';

const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

describe('pretty log lines', () => {
  it('shows time, level, message and the other fields as key=value', () => {
    const line = formatLine(JSON.stringify({ level: 30, time, pid: 1, hostname: 'h', msg: 'listening', url: 'http://127.0.0.1:3000', agents: ['demo', 'openai'], counts: { idle: 1 } }));
    expect(line).toBe('03:04:05.678 INFO  listening url=http://127.0.0.1:3000 agents=demo,openai counts={"idle":1}');
  });

  it('writes a request as method, path, status and time, without its headers', () => {
    const entry = { level: 30, time, msg: 'request completed', req: { method: 'GET', url: '/healthz', headers: { authorization: '[redacted]' } }, res: { statusCode: 200 }, responseTime: 3 };
    expect(formatLine(JSON.stringify(entry))).toBe('03:04:05.678 INFO  GET /healthz 200 3ms request completed');
  });

  it('keeps an error stack, indented under the entry', () => {
    const entry = { level: 60, time, msg: 'could not start', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at start (x.ts:1:1)' } };
    expect(formatLine(JSON.stringify(entry)).split('\n')).toEqual(['03:04:05.678 FATAL could not start', '    Error: boom', '        at start (x.ts:1:1)']);
  });

  it('colours only when asked, and passes through what is not JSON', () => {
    const written: string[] = [];
    const out = { write: (text: string) => written.push(text) } as unknown as NodeJS.WritableStream;
    prettyStream(out, true).write(`${JSON.stringify({ level: 40, time, msg: 'careful' })}\n`);
    prettyStream(out, false).write(`${JSON.stringify({ level: 40, time, msg: 'careful' })}\nnot json\n`);
    expect(written[0]).toBe('\u001b[90m03:04:05.678\u001b[39m \u001b[33mWARN \u001b[39m careful\n');
    expect(written.slice(1)).toEqual(['03:04:05.678 WARN  careful\n', 'not json\n']);
  });
});
