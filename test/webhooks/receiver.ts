/**
 * A webhook receiver on 127.0.0.1 for the tests: it verifies every request
 * with the `standardwebhooks` package, as a real receiver would, and answers
 * as told (fail the first attempts, hang, redirect).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';
import { Webhook } from 'standardwebhooks';

/** A fresh Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface Received {
  id: string;
  /** `webhook-timestamp`, in seconds. */
  timestamp: number;
  path: string;
  /** The `Authorization` header, if one was sent. */
  authorization?: string;
  payload: string;
  /** The parsed body when the signature verified; null when it did not. */
  body: any;
  /** Which request of this `webhook-id` it was, from 1. */
  attempt: number;
  /** What the receiver answered. */
  answered: number | 'hang';
}

/** The answer to a request: a status, a redirect, or none at all. */
export type Answer = number | 'hang' | { redirect: string };

export interface ReceiverOptions {
  secret: string;
  /** Fail (500) the first this many attempts of each delivery; then answer 204. Default 0. */
  failFirst?: number;
  /** Decides every answer instead, when given. */
  answer?: (request: Received) => Answer;
  /** Listen on this port (to bring a receiver back where one was down). */
  port?: number;
}

export class Receiver {
  readonly requests: Received[] = [];
  private readonly attempts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    /** Change `answer` or `failFirst` at any time. */
    readonly options: ReceiverOptions,
  ) {}

  static async start(options: ReceiverOptions): Promise<Receiver> {
    let receiver!: Receiver;
    const server = createServer((req, res) => {
      receiver.handle(req).then(
        (answer) => {
          if (answer === 'hang') return;
          if (typeof answer === 'object') res.writeHead(307, { Location: answer.redirect }).end();
          else res.writeHead(answer).end();
        },
        // The sender gave up mid-request (a shutdown): nothing arrived.
        () => res.destroy(),
      );
    });
    receiver = new Receiver(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests answered 2xx, in order. */
  get delivered(): Received[] {
    return this.requests.filter((request) => typeof request.answered === 'number' && request.answered < 300);
  }

  /** Waits until `accept` holds of the requests so far. */
  async waitFor(accept: (requests: Received[]) => boolean, timeout = 10_000): Promise<Received[]> {
    return vi.waitFor(
      () => {
        if (!accept(this.requests)) throw new Error(`the receiver has had ${this.requests.length} requests`);
        return this.requests;
      },
      { timeout, interval: 10 },
    );
  }

  /** Stops listening and cuts any request it left hanging. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage): Promise<Answer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const payload = Buffer.concat(chunks).toString('utf8');
    const id = String(req.headers['webhook-id']);
    const attempt = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, attempt);
    let body: unknown = null;
    try {
      body = new Webhook(this.options.secret).verify(payload, req.headers as Record<string, string>);
    } catch {
      body = null;
    }
    const request: Received = { id, timestamp: Number(req.headers['webhook-timestamp']), path: req.url ?? '', authorization: req.headers.authorization, payload, body, attempt, answered: 0 };
    const answer = body === null ? 401 : this.options.answer ? this.options.answer(request) : attempt <= (this.options.failFirst ?? 0) ? 500 : 204;
    request.answered = typeof answer === 'object' ? 307 : answer;
    this.requests.push(request);
    return answer;
  }
}
