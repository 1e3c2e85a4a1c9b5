/** `latchkey backup --to FILE [--db PATH] [--json]`, `latchkey restore --from FILE [--db PATH]` (SQLite). */
import { loadConfig } from '../config.js';
import { backupSqlite, restoreSqlite } from '../storage/backup.js';
import { isPostgresUrl } from '../storage/connect.js';
import { sqlitePathOf } from '../storage/sqlite-file.js';
import { dbOption, jsonOption, parse, print, UsageError } from './args.js';
import type { Io } from './io.js';

function sqliteTarget(db: string | undefined, what: string, env: NodeJS.ProcessEnv): string {
  const url = loadConfig({ database: db }, env).database;
  if (isPostgresUrl(url))
    throw new Error(
      `${what} is for SQLite; back up PostgreSQL with pg_dump and pg_restore (docs/operations.md, Backup and restore)`,
    );
  return sqlitePathOf(url);
}

export async function backupCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption, to: { type: 'string' } });
  if (!values.to) throw new UsageError('backup needs --to FILE');
  const r = await backupSqlite(sqliteTarget(values.db, 'latchkey backup', io.env), values.to);
  print(io, values.json!, r, () => `Backed up to ${r.path} (${r.bytes} bytes, integrity ok)`);
}

export async function restoreCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, from: { type: 'string' } });
  if (!values.from) throw new UsageError('restore needs --from FILE');
  const r = await restoreSqlite(values.from, sqliteTarget(values.db, 'latchkey restore', io.env));
  io.out(`Restored ${values.from} into ${r.path} (${r.bytes} bytes)\n`);
}
