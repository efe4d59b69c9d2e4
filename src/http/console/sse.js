// Server-Sent Events over fetch. EventSource cannot send headers, so an API key would have to go into the URL
// (and from there into logs and history); fetch sends it as a header, and we reconnect ourselves.

/** @typedef {{ id: string, event: string, data: string }} SseMessage */

/** Incremental text/event-stream parser, as the HTML standard defines it. */
export class SseParser {
  /** @param {(message: SseMessage) => void} onMessage */
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.partial = '';
    this.afterCR = false; // a chunk ended in \r: a \n starting the next one belongs to the same line end
    this.data = [];
    this.event = '';
    this.lastEventId = '';
    /** @type {number | null} reconnection delay the server asked for */
    this.retry = null;
  }

  /** @param {string} chunk decoded text, split anywhere */
  push(chunk) {
    let text = chunk;
    if (this.afterCR && text.startsWith('\n')) text = text.slice(1);
    this.afterCR = text.endsWith('\r');
    const lines = (this.partial + text).split(/\r\n|\r|\n/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** @param {string} line */
  line(line) {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return; // a comment, e.g. the server's keep-alive ping
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  dispatch() {
    const event = this.event || 'message';
    this.event = '';
    if (this.data.length === 0) return;
    const data = this.data.join('\n');
    this.data = [];
    this.onMessage({ id: this.lastEventId, event, data });
  }
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
/** A stream silent this long is taken for dead (a sleeping laptop, a changed network) and reopened; the server pings every 15 s. */
const IDLE_MS = 45_000;

/**
 * Opens a stream and keeps it open: after a drop it reconnects with backoff, sending `Last-Event-ID`
 * so the server replays exactly what was missed. Client errors (404: the session is gone) end it.
 * @param {string} url
 * @param {{
 *   fetch: (url: string, init: RequestInit) => Promise<Response>,
 *   lastEventId?: string,
 *   onMessage: (message: SseMessage) => void,
 *   onStatus?: (status: 'open' | 'reconnecting' | 'closed', detail?: { status?: number }) => void,
 *   idleMs?: number,
 * }} options
 * @returns {{ close(): void }}
 */
export function openEventStream(url, { fetch: doFetch, lastEventId = '', onMessage, onStatus = () => {}, idleMs = IDLE_MS }) {
  const controller = new AbortController();
  let lastId = lastEventId;
  let failures = 0;
  let retryMs = null;
  let wake = () => {};
  let dropConnection = () => {};
  // Coming back online: the open connection may be dead, and the backoff need not be waited out.
  const onOnline = () => {
    dropConnection();
    wake();
  };
  window.addEventListener('online', onOnline);

  const pause = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  /** One connection: its own abort, so a silent, failed or replaced one is always closed before the next opens. */
  async function connect() {
    const connection = new AbortController();
    const drop = () => connection.abort();
    controller.signal.addEventListener('abort', drop);
    dropConnection = drop;
    let idle;
    const stillAlive = () => {
      clearTimeout(idle);
      idle = setTimeout(drop, idleMs);
    };
    let reader;
    try {
      stillAlive();
      const headers = { Accept: 'text/event-stream' };
      if (lastId !== '') headers['Last-Event-ID'] = lastId;
      const response = await doFetch(url, { headers, signal: connection.signal, cache: 'no-store' });
      if (!response.ok) return response.status;
      onStatus('open');
      const parser = new SseParser((message) => {
        lastId = message.id || lastId;
        failures = 0;
        onMessage(message);
      });
      reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stillAlive();
        parser.push(value);
        retryMs = parser.retry ?? retryMs;
      }
      return 0;
    } finally {
      clearTimeout(idle);
      controller.signal.removeEventListener('abort', drop);
      dropConnection = () => {};
      reader?.cancel().catch(() => {});
      drop();
    }
  }

  (async () => {
    while (!controller.signal.aborted) {
      let status = 0;
      try {
        status = await connect();
      } catch {
        // A network error or a dropped connection: reconnect below.
      }
      if (controller.signal.aborted) return;
      // 4xx will not get better by retrying (timeouts and rate limits aside).
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        onStatus('closed', { status });
        return;
      }
      onStatus('reconnecting');
      const base = Math.max(retryMs ?? 0, BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)]);
      failures++;
      await pause(base * (0.75 + Math.random() / 2));
    }
  })();

  return {
    close() {
      controller.abort();
      window.removeEventListener('online', onOnline);
      wake();
    },
  };
}
