/**
 * Which SQLite file a database setting names, and opening it safely: the folder must exist
 * (except the default data folder), the file must be writable, and the open happens under the
 * start-up lock (sqlite-lock.ts) with the "in use" lock held for as long as it stays open.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteLocks } from './sqlite-lock.js';

/** Where SQLite keeps its data when nothing is configured: created on first use. */
export const DEFAULT_DATA_FOLDER = './data';

const hidePassword = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/**
 * The SQLite file a database setting names (`sqlite:PATH` or a plain path), or an error for a
 * URL of any other scheme than postgres(ql) (that one is not given here): a mistyped
 * `postgress://` or a `mysql://` must not quietly become a new SQLite file.
 */
export function sqlitePathOf(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme !== undefined) {
    throw new Error(
      `unknown database scheme "${scheme}:" in ${hidePassword(url)}: use postgres://… for PostgreSQL or a file path for SQLite`,
    );
  }
  return url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
}

/**
 * A SQLite file may only be made in a folder that exists, except in the default data folder
 * (created on a first run): a wrong path is an error, not a new empty database somewhere else.
 */
export function checkSqliteFolder(path: string): void {
  const dir = dirname(resolve(path));
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw new Error(`${dir}, the folder of database ${path}, is not a folder`);
    return;
  }
  if (dir === resolve(DEFAULT_DATA_FOLDER)) {
    makeParents(dir);
    return;
  }
  throw new Error(
    `the folder of database ${path} does not exist (${dir}): create it first, or correct the path`,
  );
}

export const readOnlyError = (path: string): Error =>
  new Error(
    `database file ${path} is read-only: Latchkey must be able to write it (check its permissions and mount)`,
  );

const codeOf = (err: unknown) => String((err as { code?: unknown })?.code ?? '');

/**
 * Opens `path` for a Latchkey process: checks, then takes the "in use" lock, then opens the file
 * and switches it to WAL under the start-up lock (a new file's switch is not safe to race).
 */
export async function openSqliteFile(
  SQLite: typeof BetterSqlite3,
  path: string,
): Promise<{ sqlite: BetterSqlite3.Database; locks: SqliteLocks }> {
  checkSqliteFolder(path);
  // SQLite would quietly open a write-protected file read-only: /readyz would say ready and
  // every write (each sign-in) would fail. Refused at start instead.
  if (existsSync(path)) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      throw readOnlyError(path);
    }
  }
  const locks = await SqliteLocks.hold(SQLite, path);
  try {
    const sqlite = await locks.serialized(async () => {
      const opened = new SQLite(path);
      try {
        // What the permission check cannot see (a read-only mount, an immutable file, root
        // passing every permission check): a write transaction fails with SQLITE_READONLY.
        try {
          opened.exec('BEGIN IMMEDIATE');
          opened.exec('ROLLBACK');
        } catch (err) {
          if (/^SQLITE_(READONLY|CANTOPEN)/.test(codeOf(err))) throw readOnlyError(path);
          throw err;
        }
        opened.pragma('journal_mode = WAL');
      } catch (err) {
        opened.close();
        throw err;
      }
      return opened;
    });
    return { sqlite, locks };
  } catch (err) {
    locks.close();
    throw err;
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync never returns for some
 * paths (e.g. under /proc), and a bad --db must fail with an error, not hang.
 */
function makeParents(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeParents(parent);
  mkdirSync(dir);
}
