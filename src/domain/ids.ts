import { randomBytes } from 'node:crypto';

// Random bytes drawn in blocks: one system call per 256 ids instead of one each.
const BLOCK = 16 * 256;
let pool = Buffer.alloc(0);
let offset = BLOCK;

/** An opaque, URL-safe id such as `ses_3kTq…`: 128 random bits. */
export function newId(prefix: 'ses' | 'run' | 'msg' | 'q'): string {
  if (offset >= BLOCK) {
    pool = randomBytes(BLOCK);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + 16);
  offset += 16;
  return `${prefix}_${id}`;
}

export function now(): string {
  return new Date().toISOString();
}
