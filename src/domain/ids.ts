import { randomBytes } from 'node:crypto';

/** An opaque, URL-safe id such as `ses_3kTq…`: 128 random bits. */
export function newId(prefix: 'ses' | 'run' | 'msg' | 'q'): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

export function now(): string {
  return new Date().toISOString();
}
