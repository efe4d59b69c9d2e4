/**
 * What a clean shutdown waits for: requests in flight (their responses must
 * reach their clients, and their Idempotency-Key records storage, before the
 * store closes) and open event streams (which are ended, after the runs'
 * `run_interrupted`, rather than cut).
 */
import type { RequestHandler, Response } from 'express';
import { SessionError } from '../domain/errors.js';
import { sendError } from './errors.js';

export class Lifecycle {
  private readonly requests = new Set<Response>();
  private readonly streams = new Map<Response, () => void>();
  private idle: (() => void) | null = null;
  private closing = false;

  /**
   * Counts every request until its response is done. Once shutdown has begun,
   * a request on a connection kept alive is refused (503, and the connection
   * closed) rather than let reach a store about to close.
   */
  readonly track: RequestHandler = (_req, res, next) => {
    if (this.closing) {
      res.setHeader('Connection', 'close');
      res.setHeader('Retry-After', '1');
      sendError(res, new SessionError('unavailable', 'The server is shutting down; retry, and another instance (or this one, restarted) answers'));
      return;
    }
    this.requests.add(res);
    res.once('close', () => this.settle(res));
    next();
  };

  /** A request that became a long-lived stream: no longer waited for, ended by `endStreams` instead. */
  streaming(res: Response, end: () => void): () => void {
    this.settle(res);
    this.streams.set(res, end);
    return () => this.streams.delete(res);
  }

  get inFlight(): number {
    return this.requests.size;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Resolves once no request is in flight, or after `graceMs`; with the number still in flight. New requests are refused from now on. */
  async drain(graceMs: number): Promise<number> {
    this.closing = true;
    if (this.requests.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.idle = null;
    }
    return this.requests.size;
  }

  /** Ends every open stream gracefully: what was written still reaches the client. */
  endStreams(): void {
    for (const end of [...this.streams.values()]) end();
    this.streams.clear();
  }

  private settle(res: Response): void {
    if (this.requests.delete(res) && this.requests.size === 0) this.idle?.();
  }
}
