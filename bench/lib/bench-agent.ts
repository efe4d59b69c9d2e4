/**
 * The agent behind the ingest, fan-out and crowd scenarios. `/tokens N
 * await|burst [every=MS] [bytes=B]` emits N `token` events, each text a
 * wall-clock timestamp (ms, 3 decimals) plus a space, so a receiver can tell
 * how long a token took from the agent to it. `await` waits for each token to
 * be stored before the next (a paced, durable stream); `burst` emits them all
 * at once and lets the runtime batch. `every` pauses that many ms between
 * tokens (a run that goes on for a while); `bytes` pads each text to that
 * size. A cancelled run stops at its next token.
 */
import { type Agent, sleep } from '../../dist/src/agents/agent.js';
import { wallClockMs } from './stats.js';

export const BENCH_AGENT = 'bench';

export interface TokenPacing {
  /** Pause between tokens, in ms. */
  everyMs?: number;
  /** Pad each token's text to this many bytes. */
  bytes?: number;
}

export function tokensCommand(count: number, mode: 'await' | 'burst', { everyMs, bytes }: TokenPacing = {}): string {
  return [`/tokens ${count} ${mode}`, everyMs ? `every=${everyMs}` : '', bytes ? `bytes=${bytes}` : ''].filter(Boolean).join(' ');
}

/** The timestamp a token text carries, or NaN. */
export function tokenStamp(text: string): number {
  return Number.parseFloat(text);
}

export function createBenchAgent(): Agent {
  return {
    async run(ctx) {
      const command = /^\/tokens (\d+) (await|burst)(?: every=(\d+))?(?: bytes=(\d+))?$/.exec(ctx.messages.at(-1)?.content ?? '');
      if (!command) throw new Error(`The bench agent expects "/tokens N await|burst [every=MS] [bytes=B]"`);
      const count = Number(command[1]);
      const paced = command[2] === 'await';
      const everyMs = Number(command[3] ?? 0);
      const padding = 'x'.repeat(Number(command[4] ?? 0));
      let reply = '';
      for (let i = 0; i < count && !ctx.signal.aborted; i++) {
        if (i > 0 && everyMs > 0) await sleep(everyMs, ctx.signal);
        const stamp = `${wallClockMs().toFixed(3)} `;
        const text = padding.length > stamp.length ? stamp + padding.slice(stamp.length) : stamp;
        if (padding.length === 0) reply += text;
        const stored = ctx.emit({ type: 'token', text });
        if (paced) await stored;
      }
      return { kind: 'completed', message: padding.length === 0 ? reply : `${count} tokens of ${padding.length} bytes` };
    },
  };
}
