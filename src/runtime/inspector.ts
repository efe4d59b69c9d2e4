/**
 * The Stately inspector, for watching sessions live. Off by default: every
 * inspected actor pays for serialising its events and snapshots.
 *
 * `@statelyai/inspect`'s WebSocket inspector is a client that sends inspection
 * events to a relay; whatever the relay receives it forwards to the other
 * connected clients (the inspector UI), replaying recent events to late
 * joiners. The package ships such a relay (`@statelyai/inspect/server`), but it
 * listens on every interface and cannot report its port; this one binds to
 * `host` (127.0.0.1 by default) and an ephemeral port works. Its HTTP page is
 * the same bridge: it embeds the Stately inspector UI and feeds it the events.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import type { InspectionEvent, Observer } from 'xstate';

export interface InspectorOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Inspection messages kept for clients that connect later. */
  replay?: number;
  /** Where the bridge page loads the inspector UI from (in the user's browser, never from this server). */
  uiUrl?: string;
}

export interface RunningInspector {
  /** Give this to `createActor({ inspect })`, or to `RuntimeOptions.inspect`. */
  inspect: Observer<InspectionEvent>;
  /** The relay's WebSocket URL; inspector clients connect here. */
  url: string;
  /** The bridge page: open it in a browser to see the actors in the Stately inspector. */
  pageUrl: string;
  /** One line for the start-up log. */
  instructions: string;
  /** Shows an `@xstate/store` as an actor named `name`; returns a function that stops watching. */
  watchStore(name: string, store: InspectableStore): () => void;
  stop(): Promise<void>;
}

/** The part of an `@xstate/store` store that inspection needs. */
export interface InspectableStore {
  getSnapshot(): { context: unknown };
  inspect(observer: (event: { type: string; event: { type: string } }) => void): { unsubscribe(): void };
}

export async function startInspector({
  port,
  host = '127.0.0.1',
  replay = 500,
  uiUrl = 'https://stately.ai/inspect',
}: InspectorOptions): Promise<RunningInspector> {
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(bridgePage(uiUrl));
  });
  const relay = new WebSocketServer({ server: http });
  const recent: string[] = [];
  relay.on('connection', (socket) => {
    for (const message of recent) socket.send(message);
    socket.on('message', (data) => {
      const message = data.toString();
      recent.push(message);
      if (recent.length > replay) recent.shift();
      for (const client of relay.clients) {
        if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
      }
    });
  });
  await listen(http, port, host);
  const address = http.address() as AddressInfo;
  const authority = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const url = `ws://${authority}`;
  const pageUrl = `http://${authority}/`;

  // The first connection is our own inspector client, opened just below.
  const ownClient = new Promise<WebSocket>((resolve) => relay.once('connection', resolve));
  const inspector = createWebSocketInspector({ url });
  // Events sent before the client is connected would be deferred; wait so the first session is seen whole.
  const own = await Promise.race([ownClient, new Promise<null>((resolve) => setTimeout(resolve, 2_000, null).unref())]);

  return {
    inspect: inspector.inspect,
    url,
    pageUrl,
    instructions: `Stately inspector: open ${pageUrl} in a browser (it shows the Stately inspector UI fed from ${url})`,
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
      // A clean close first: the client retries forever after a socket error, which would keep the process alive.
      inspector.stop();
      if (own) await closedOrTimeout(own, 1_000);
      for (const client of relay.clients) client.terminate();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await new Promise<void>((resolve, reject) => http.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function closedOrTimeout(socket: WebSocket, ms: number): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The page relays WebSocket messages to the embedded UI, holding them until the UI says it is ready. */
function bridgePage(uiUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bamboo · Stately inspector</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head>
<body>
<iframe id="inspector" title="Stately inspector" src="${uiUrl.replace(/"/g, '&quot;')}"></iframe>
<script>
const frame = document.getElementById('inspector');
const held = [];
let ready = false;
addEventListener('message', (event) => {
  if (event.data && event.data.type === '@statelyai.connected') {
    ready = true;
    for (const data of held.splice(0)) frame.contentWindow.postMessage(data, '*');
  }
});
const socket = new WebSocket('ws://' + location.host);
socket.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (ready) frame.contentWindow.postMessage(data, '*');
  else held.push(data);
};
</script>
</body>
</html>`;
}
