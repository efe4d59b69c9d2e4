/**
 * The Stately inspector, for watching sessions live. Off by default: every
 * inspected actor pays for serialising its events and snapshots.
 *
 * The inspection events carry every session's transitions, answers included,
 * so the relay serves only this machine's user: loopback clients that know the
 * token printed at start, from no Origin (tools), the Stately inspector's or
 * the bridge page's own. The server's inspector feeds the relay in-process;
 * viewers only listen (anything they send is dropped), frames are capped at
 * 1 MiB and the replay kept for late viewers at 8 MiB, so a client can neither
 * inject events nor exhaust memory. The HTTP page is the bridge: it embeds the
 * Stately inspector UI and feeds it the events.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createInspector } from '@statelyai/inspect';
import { configure } from 'safe-stable-stringify';
import { WebSocket, WebSocketServer } from 'ws';
import type { InspectionEvent, Observer } from 'xstate';

export interface InspectorOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Bytes of inspection messages kept for viewers that connect later; the oldest go first. Default 8 MiB. */
  replayBytes?: number;
  /** Largest frame a viewer may send (viewers' messages are dropped anyway). Default 1 MiB. */
  maxPayload?: number;
  /** Where the bridge page loads the inspector UI from (in the user's browser, never from this server). */
  uiUrl?: string;
}

export interface RunningInspector {
  /** Give this to `createActor({ inspect })`, or to `RuntimeOptions.inspect`. */
  inspect: Observer<InspectionEvent>;
  /** The relay's WebSocket URL, token included; viewers connect here. */
  url: string;
  /** The bridge page, token included: open it in a browser to see the actors in the Stately inspector. */
  pageUrl: string;
  /** Required by the page and the WebSocket as `?token=`. */
  token: string;
  /** One line for the start-up log. */
  instructions: string;
  /** Bytes held for replay now (at most `replayBytes`). */
  readonly replayBytes: number;
  /** Shows an `@xstate/store` as an actor named `name`; returns a function that stops watching. */
  watchStore(name: string, store: InspectableStore): () => void;
  stop(): Promise<void>;
}

/** The part of an `@xstate/store` store that inspection needs. */
export interface InspectableStore {
  getSnapshot(): { context: unknown };
  inspect(observer: (event: { type: string; event: { type: string } }) => void): { unsubscribe(): void };
}

const MiB = 1024 * 1024;
/** A viewer this far behind (past the replay it was sent on arrival) is dropped rather than buffered for without end; it can reconnect and replay. */
const MAX_VIEWER_BACKLOG = 8 * MiB;
// As @statelyai/inspect's own WebSocket client: depth-limited, and safe for circular or odd values.
const stringify = configure({ maximumDepth: 10 });

export async function startInspector({
  port,
  host = '127.0.0.1',
  replayBytes = 8 * MiB,
  maxPayload = MiB,
  uiUrl = 'https://stately.ai/inspect',
}: InspectorOptions): Promise<RunningInspector> {
  const token = randomBytes(24).toString('base64url');
  const uiOrigin = new URL(uiUrl).origin;
  const replay = new ReplayBuffer(replayBytes);
  const viewers = new WebSocketServer({ noServer: true, maxPayload });

  const http = createServer((req, res) => {
    const refusal = refuse(req, token, uiOrigin);
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    const status = refusal?.status ?? (path !== '/' ? 404 : req.method !== 'GET' && req.method !== 'HEAD' ? 405 : 200);
    if (status !== 200) {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${refusal?.reason ?? STATUS_CODES[status]}\n`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // The URL holds the token: never send it on, and let no other page frame this one.
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': "frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(bridgePage(uiUrl));
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refusal = refuse(req, token, uiOrigin, true);
    if (refusal) {
      const body = `${refusal.reason}\n`;
      socket.end(
        `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    viewers.handleUpgrade(req, socket, head, (viewer) => {
      // Too large a frame is an 'error' then a close (1009); without a listener it would crash the process.
      viewer.on('error', () => viewer.terminate());
      for (const message of replay.messages()) viewer.send(message);
    });
  });

  const broadcast = (message: string) => {
    replay.push(message);
    for (const viewer of viewers.clients) {
      if (viewer.readyState !== WebSocket.OPEN) continue;
      if (viewer.bufferedAmount > replayBytes + MAX_VIEWER_BACKLOG) viewer.terminate();
      else viewer.send(message);
    }
  };
  const inspector = createInspector({ send: (event) => broadcast(stringify(event) ?? 'null') });

  await listen(http, port, host);
  const address = http.address() as AddressInfo;
  const authority = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const query = `?token=${token}`;
  const url = `ws://${authority}/${query}`;
  const pageUrl = `http://${authority}/${query}`;

  return {
    inspect: inspector.inspect,
    url,
    pageUrl,
    token,
    instructions: `Stately inspector: open ${pageUrl} in a browser on this machine (the token keeps other pages and users out); viewers connect to ${url}`,
    get replayBytes() {
      return replay.bytes;
    },
    watchStore(name, store) {
      // Stores report only `@xstate.transition`, which the Stately inspector ignores; restate it as event + snapshot.
      inspector.actor(name, { status: 'active', context: store.getSnapshot().context });
      const subscription = store.inspect((event) => {
        if (event.type !== '@xstate.transition' || event.event.type.startsWith('@xstate.')) return;
        inspector.event(name, event.event);
        inspector.snapshot(name, { status: 'active', context: store.getSnapshot().context }, { event: event.event });
      });
      return () => subscription.unsubscribe();
    },
    async stop() {
      for (const viewer of viewers.clients) viewer.terminate();
      await new Promise<void>((resolve) => viewers.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve, reject) => http.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Why a request is refused, or undefined when it may see the inspector. */
function refuse(req: IncomingMessage, token: string, uiOrigin: string, isWebSocket = false): { status: 401 | 403; reason: string } | undefined {
  if (!isLoopback(req.socket.remoteAddress)) return { status: 403, reason: 'the inspector serves this machine only' };
  // Browsers send Origin on every WebSocket; a page of another origin must not read the sessions.
  const origin = req.headers.origin;
  if (isWebSocket && origin !== undefined && origin !== uiOrigin && !isOwnOrigin(origin, req.socket.localPort)) {
    return { status: 403, reason: `origin ${origin} may not connect to the inspector` };
  }
  const given = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
  if (given === null || !sameSecret(given, token)) return { status: 401, reason: 'missing or wrong token: use the URL printed when the server started' };
  return undefined;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The bridge page's own origin: plain http, a loopback host and the relay's port. */
function isOwnOrigin(origin: string, port: number | undefined): boolean {
  try {
    const parsed = new URL(origin);
    const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
    return parsed.protocol === 'http:' && Number(parsed.port) === port && (hostname === 'localhost' || isLoopback(hostname));
  } catch {
    return false;
  }
}

/** Constant-time comparison; hashing first makes the lengths equal. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Recent messages for late viewers, bounded by their total size: the oldest are dropped first. */
export class ReplayBuffer {
  private readonly queue: { message: string; bytes: number }[] = [];
  private head = 0;
  bytes = 0;

  constructor(private readonly limit: number) {}

  push(message: string): void {
    const bytes = Buffer.byteLength(message);
    // One message over the whole budget would evict everything and still not fit.
    if (bytes > this.limit) return;
    this.queue.push({ message, bytes });
    this.bytes += bytes;
    while (this.bytes > this.limit) this.bytes -= this.queue[this.head++]!.bytes;
    // Compact now and then instead of shifting the array on every drop.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  messages(): string[] {
    return this.queue.slice(this.head).map((entry) => entry.message);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      // Recognisable by its code, and saying which port, for the caller to report as a configuration error.
      reject(
        error.code === 'EADDRINUSE'
          ? Object.assign(new Error(`The inspector's port ${port} on ${host} is already in use`, { cause: error }), { code: 'EADDRINUSE', port })
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
}

/**
 * The page relays WebSocket messages to the embedded UI, holding them until
 * the UI says it is ready. It passes its own token on to the WebSocket, and
 * talks to the UI's origin only.
 */
function bridgePage(uiUrl: string): string {
  const origin = JSON.stringify(new URL(uiUrl).origin);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bamboo · Stately inspector</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head>
<body>
<iframe id="inspector" title="Stately inspector" src="${uiUrl.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"></iframe>
<script>
const uiOrigin = ${origin.replace(/</g, '\\u003c')};
const frame = document.getElementById('inspector');
const held = [];
let ready = false;
addEventListener('message', (event) => {
  if (event.origin !== uiOrigin || event.source !== frame.contentWindow) return;
  if (event.data && event.data.type === '@statelyai.connected') {
    ready = true;
    for (const data of held.splice(0)) frame.contentWindow.postMessage(data, uiOrigin);
  }
});
const token = new URLSearchParams(location.search).get('token') || '';
const socket = new WebSocket('ws://' + location.host + '/?token=' + encodeURIComponent(token));
socket.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (ready) frame.contentWindow.postMessage(data, uiOrigin);
  else if (held.push(data) > 10000) held.shift();
};
</script>
</body>
</html>`;
}
