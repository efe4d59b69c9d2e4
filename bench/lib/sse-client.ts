/**
 * A lean Server-Sent Events reader: one socket per stream, frames split by
 * hand, `data` left as text so callers parse only what they need. With a
 * thousand streams in one process, EventSource's per-event overhead would
 * measure the client rather than the server.
 */
import http from 'node:http';

export interface SseFrame {
  id: string;
  event: string;
  data: string;
}

export interface SseStream {
  /** Resolves when the response headers arrived with status 200. */
  opened: Promise<void>;
  /** Resolves when the stream ends or fails, with the failure if any. */
  closed: Promise<Error | null>;
  close(): void;
}

/**
 * Opens `url` as an event stream. `onFrames` gets the frames of one network
 * chunk together, with the time the chunk arrived (performance.now()).
 */
export function openSse(url: string, onFrames: (frames: SseFrame[], receivedAt: number) => void): SseStream {
  const target = new URL(url);
  let settleClosed!: (error: Error | null) => void;
  const closed = new Promise<Error | null>((resolve) => (settleClosed = resolve));
  let closing = false;
  const req = http.get({
    host: target.hostname,
    port: Number(target.port),
    path: target.pathname + target.search,
    agent: false,
    headers: { accept: 'text/event-stream' },
  });
  const opened = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        const error = new Error(`GET ${url} answered ${res.statusCode}`);
        reject(error);
        settleClosed(error);
        return;
      }
      resolve();
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const receivedAt = performance.now();
        buffer += chunk;
        const frames: SseFrame[] = [];
        let start = 0;
        for (let end = buffer.indexOf('\n\n', start); end !== -1; end = buffer.indexOf('\n\n', start)) {
          const frame = parseFrame(buffer, start, end);
          if (frame) frames.push(frame);
          start = end + 2;
        }
        buffer = buffer.slice(start);
        if (frames.length > 0) onFrames(frames, receivedAt);
      });
      res.on('end', () => settleClosed(null));
      res.on('error', (error) => settleClosed(closing ? null : error));
    });
    req.on('error', (error) => {
      reject(error);
      settleClosed(closing ? null : error);
    });
  });
  // `opened` may be awaited late or never; its rejection is reported through `closed` too.
  opened.catch(() => undefined);
  return {
    opened,
    closed,
    close: () => {
      closing = true;
      req.destroy();
      settleClosed(null);
    },
  };
}

function parseFrame(buffer: string, start: number, end: number): SseFrame | null {
  let id = '';
  let event = 'message';
  let data = '';
  let hasData = false;
  while (start < end) {
    let lineEnd = buffer.indexOf('\n', start);
    if (lineEnd === -1 || lineEnd > end) lineEnd = end;
    if (buffer.charCodeAt(start) !== 58 /* ':' comment */) {
      const colon = buffer.indexOf(':', start);
      const field = colon === -1 || colon > lineEnd ? buffer.slice(start, lineEnd) : buffer.slice(start, colon);
      let valueStart = colon === -1 || colon > lineEnd ? lineEnd : colon + 1;
      if (buffer.charCodeAt(valueStart) === 32) valueStart++;
      const value = buffer.slice(valueStart, lineEnd);
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') {
        data = hasData ? `${data}\n${value}` : value;
        hasData = true;
      }
    }
    start = lineEnd + 1;
  }
  return hasData ? { id, event, data } : null;
}
