/**
 * SQLite backup and restore. Backup uses SQLite's online backup API (better-sqlite3's
 * db.backup(), https://www.sqlite.org/backup.html): a consistent copy while a server writes, with
 * the WAL's committed pages in it; the copy is switched to a rollback journal so it is one file.
 * Restore refuses a database some process has open (the "in use" lock, sqlite-lock.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { checkSqliteFolder } from './sqlite-file.js';
import { tryExclusive } from './sqlite-lock.js';

type SQLiteCtor = typeof BetterSqlite3;

const loadSqlite = async (): Promise<SQLiteCtor> => (await import('better-sqlite3')).default;

/** integrity_check on an open file; also that it is a Latchkey database. */
function verify(db: BetterSqlite3.Database, label: string): void {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  const verdict = rows.map((r) => r.integrity_check).join('; ');
  if (verdict !== 'ok') throw new Error(`${label} fails its integrity check: ${verdict.slice(0, 200)}`);
  const t = db
    .prepare("select 1 from sqlite_master where type = 'table' and name = 'latchkey_migrations'")
    .get();
  if (!t) throw new Error(`${label} is not a Latchkey database (no latchkey_migrations table)`);
}

const tempBeside = (target: string) =>
  join(dirname(resolve(target)), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);

/** Copies `from` (open with SQLite) to `to` atomically (temp file + rename), verified. */
async function copyVerified(SQLite: SQLiteCtor, from: BetterSqlite3.Database, to: string): Promise<void> {
  const tmp = tempBeside(to);
  try {
    // Whole database in one step after the first: a step that sees a write restarts the copy.
    await from.backup(tmp, { progress: () => 1_000_000 });
    const copy = new SQLite(tmp, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
      verify(copy, 'the copy');
    } finally {
      copy.close();
    }
    renameSync(tmp, to);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export async function backupSqlite(
  dbPath: string,
  to: string,
): Promise<{ path: string; bytes: number; integrity: 'ok' }> {
  if (!existsSync(dbPath)) throw new Error(`database ${dbPath} does not exist`);
  if (!existsSync(dirname(resolve(to)))) throw new Error(`the folder of ${to} does not exist`);
  if (existsSync(to) && statSync(to).ino === statSync(dbPath).ino)
    throw new Error('--to names the database itself');
  const SQLite = await loadSqlite();
  const src = new SQLite(dbPath, { fileMustExist: true, timeout: 5000 });
  try {
    verify(src, `database ${dbPath}`);
    await copyVerified(SQLite, src, to);
  } finally {
    src.close();
  }
  return { path: resolve(to), bytes: statSync(to).size, integrity: 'ok' };
}

export async function restoreSqlite(from: string, dbPath: string): Promise<{ path: string; bytes: number }> {
  if (!existsSync(from)) throw new Error(`backup ${from} does not exist`);
  checkSqliteFolder(dbPath);
  const SQLite = await loadSqlite();
  // A path that does not exist yet is always allowed; otherwise nobody may have it open.
  const lock = existsSync(dbPath) ? tryExclusive(SQLite, dbPath) : undefined;
  if (lock === null)
    throw new Error(`database ${dbPath} is in use by a running Latchkey process: stop it first`);
  try {
    const src = new SQLite(from, { readonly: true, fileMustExist: true });
    try {
      verify(src, `backup ${from}`); // before anything is copied
      // The old -wal/-shm must go before the new file is in place: SQLite would apply a stale WAL.
      for (const f of [`${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });
      await copyVerified(SQLite, src, dbPath);
    } finally {
      src.close();
    }
  } finally {
    lock?.release();
  }
  return { path: resolve(dbPath), bytes: statSync(dbPath).size };
}
