import { randomBytes } from 'node:crypto';

// Random bytes drawn in blocks: one system call per 256 ids instead of one each.
const BLOCK = 16 * 256;
let pool = Buffer.alloc(0);
let offset = BLOCK;

function random128(): string {
  if (offset >= BLOCK) {
    pool = randomBytes(BLOCK);
    offset = 0;
  }
  const bits = pool.toString('base64url', offset, offset + 16);
  offset += 16;
  return bits;
}

/** An opaque, URL-safe id such as `run_3kTq…`: 128 random bits. `dlv`: a webhook delivery. */
export function newId(prefix: 'run' | 'msg' | 'q' | 'dlv'): string {
  return `${prefix}_${random128()}`;
}

/**
 * A session id: the creation time in milliseconds (fixed-width hex, so ids sort
 * by age) then 128 random bits. Storage keys its rows by session id; recent
 * sessions, the busy ones, then share the same few index pages instead of
 * touching one random page each.
 */
export function newSessionId(): string {
  return `ses_${Date.now().toString(16).padStart(12, '0')}${random128()}`;
}

// A busy turn stamps many events within one millisecond: each millisecond is formatted once.
let lastMs = Number.NaN;
let lastIso = '';

/** The current time as an ISO 8601 string, to the millisecond. */
export function now(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
