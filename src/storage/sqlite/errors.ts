/** SQLite's failures as the port's: storage that is full, damaged or cannot be reached; an integrity check at open. */
import type { Database } from 'better-sqlite3';
import { StorageUnavailable } from '../store.js';

/** The file failed SQLite's integrity check: the server must not start on it. */
export class DatabaseDamaged extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(
      `${path} is damaged (${detail}). Start from a backup, or salvage it with \`sqlite3 ${path} .recover | sqlite3 recovered.db\` ` +
        'and point BAMBOO_DB at the recovered file.',
    );
    this.name = 'DatabaseDamaged';
  }
}

/** `PRAGMA quick_check`: pages, indexes and constraints, in about the time of a full read of the file. */
export function checkIntegrity(db: Database, path: string): void {
  const findings = db.pragma('quick_check(3)', { simple: false }) as { quick_check: string }[];
  const problems = findings.map((row) => row.quick_check).filter((line) => line !== 'ok');
  if (problems.length > 0) throw new DatabaseDamaged(path, problems.join('; ').replace(/\s*\n\s*/g, ' '));
}

/** A SQLite error as `StorageUnavailable` when it is about the storage, not the request; anything else as it is. */
export function translate(error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return error;
  if (code === 'SQLITE_FULL') return new StorageUnavailable('full', 'The database file cannot grow: no space left', { cause: error });
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return new StorageUnavailable('damaged', 'The database file is damaged', { cause: error });
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
    return new StorageUnavailable('unreachable', `The database file cannot be written (${code})`, { cause: error });
  }
  return error;
}
