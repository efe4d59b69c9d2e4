/**
 * What the native event stream and the LangGraph run stream share: their
 * headers and keep-alive pings; one `finish` that releases everything, once;
 * a client that falls too far behind dropped rather than buffered for (it
 * reconnects with `Last-Event-ID` and misses nothing); live events held,
 * within the same bound, while the log is replayed; and waiting for the
 * client to drain.
 */
import type { Request, Response } from 'express';
import { SessionError } from '../domain/errors.js';
import type { Delivery } from '../runtime/event-bus.js';

export const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

export const PING = Buffer.from(': ping\n\n');

export interface StreamResponseOptions {
  sessionId: string;
  pingIntervalMs: number;
  /** Bytes queued for (or held while replaying for) one client before it is dropped. */
  maxBufferedBytes: number;
  /** What the log says when a client is dropped for being too slow. */
  tooSlow: string;
}

export class StreamResponse {
  ended = false;
  private readonly releases: (() => void)[] = [];
  private ping: NodeJS.Timeout | undefined;
  private held: Delivery[] = [];
  private heldBytes = 0;

  constructor(
    private readonly req: Request,
    private readonly res: Response,
    private readonly options: StreamResponseOptions,
  ) {}

  /** Runs when the stream finishes (a subscription, a registration), once. */
  onFinish(release: () => void): void {
    this.releases.push(release);
  }

  readonly finish = (): void => {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.ping);
    for (const release of this.releases) release();
    this.res.end();
  };

  readonly drop = (buffered = this.res.writableLength): void => {
    this.req.log.warn({ session_id: this.options.sessionId, buffered }, this.options.tooSlow);
    this.res.destroy();
    this.finish();
  };

  /** Sends the headers (unless a waiting stream sent them already), then a ping at every interval. */
  open(headers: Record<string, string> = {}): void {
    if (!this.res.headersSent) {
      this.res.writeHead(200, { ...headers, ...STREAM_HEADERS });
      this.res.flushHeaders();
    }
    this.ping = setInterval(() => this.res.write(PING), this.options.pingIntervalMs);
    this.ping.unref();
  }

  /** Drops the client once more than the bound waits for it. */
  dropIfBehind(): void {
    if (!this.ended && this.res.writableLength > this.options.maxBufferedBytes) this.drop();
  }

  /** Keeps a live event until the replay is done; the bytes held count against the same bound. */
  hold(delivery: Delivery): void {
    this.held.push(delivery);
    this.heldBytes += delivery.frame.length;
    if (!this.ended && this.heldBytes > this.options.maxBufferedBytes) this.drop(this.heldBytes);
  }

  /** The live events held during the replay, in order; nothing is held from now on. */
  releaseHeld(): Delivery[] {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    return held;
  }

  /** Resolves once the client has taken what was written, or has gone. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /**
   * After a replay that threw: true, with the stream cut, unless the session
   * was deleted (its `session_deleted` is held and ends the stream). Going
   * live would skip what the replay did not reach; cut, the client reconnects
   * with `Last-Event-ID` and gets exactly the rest.
   */
  cutAfterFailedReplay(error: unknown, sessionGone: boolean): boolean {
    if (sessionGone || (error instanceof SessionError && error.code === 'session_not_found')) return false;
    this.req.log.warn({ err: error, session_id: this.options.sessionId }, 'event stream replay failed; disconnecting');
    this.res.destroy();
    this.finish();
    return true;
  }
}
