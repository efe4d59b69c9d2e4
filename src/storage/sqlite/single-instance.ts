/**
 * One SQLite file serves one process. The file is opened in exclusive locking
 * mode (the lock is held until close); a second process cannot get it and
 * refuses to start, naming the holder recorded beside the file.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Database } from 'better-sqlite3';

export class DatabaseInUse extends Error {
  constructor(
    readonly path: string,
    readonly holder: string,
  ) {
    super(
      `${path} is in use by ${holder}. One SQLite file serves one Bamboo process; stop the other one, ` +
        'or run several instances on PostgreSQL (BAMBOO_DB=postgres://user@host:5432/database).',
    );
    this.name = 'DatabaseInUse';
  }
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

const ownerFile = (path: string) => `${path}.owner`;

/** Takes the file's exclusive lock, or throws `DatabaseInUse`. Call before any other statement. */
export function lockDatabase(db: Database, path: string): void {
  db.pragma('locking_mode = EXCLUSIVE');
  try {
    // A write takes the exclusive lock, held from now on.
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    throw new DatabaseInUse(path, describeHolder(path));
  }
  const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  writeFileSync(ownerFile(path), `${JSON.stringify(holder)}\n`);
}

export function unlockDatabase(path: string): void {
  rmSync(ownerFile(path), { force: true });
}

function describeHolder(path: string): string {
  try {
    const holder = JSON.parse(readFileSync(ownerFile(path), 'utf8')) as Holder;
    return `process ${holder.pid} on ${holder.host} (since ${holder.since})`;
  } catch {
    return 'another process';
  }
}
