/** Requests `fetch` cannot make: any Host header, and event streams held open without being read. */
import { request } from 'node:http';

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, or null. */
  body: any;
}

/** One request with exactly these headers (Host included), its whole body read. */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawReply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers, setHost: !('Host' in headers || 'host' in headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = null;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export interface OpenStream {
  status: number;
  close(): void;
  /** True once the server ended or cut the stream. */
  closed(): boolean;
}

/**
 * Opens an event stream and keeps it open; resolves once the status line is
 * in. With `read: false` nothing of it is ever read: a client that stalls.
 */
export function openStream(base: string, path: string, headers: Record<string, string> = {}, { read = true } = {}): Promise<OpenStream> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      let ended = false;
      res.once('close', () => (ended = true));
      res.on('error', () => (ended = true));
      if (read) res.resume();
      else res.socket.pause();
      resolve({ status: res.statusCode ?? 0, close: () => req.destroy(), closed: () => ended || res.socket.destroyed });
    });
    req.on('error', reject);
    req.end();
  });
}
