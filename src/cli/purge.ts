/** `latchkey purge [--db PATH_OR_URL] [--json]`: one purge pass now, as the server's timer runs it. */
import { auditRetentionMs, deletedRows, runPurge } from '../ops/cleanup.js';
import { dbOption, jsonOption, parse, print } from './args.js';
import { withContext } from './db.js';
import type { Io } from './io.js';

export async function purgeCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    const run = await runPurge(ctx.storage, ctx.clock.now(), {
      auditRetentionMs: auditRetentionMs(ctx.config.auditRetentionSec),
    });
    print(io, values.json!, { deleted: run.deleted, ms: run.ms }, () => {
      const tables = Object.entries(run.deleted)
        .filter(([, n]) => n > 0)
        .map(([table, n]) => `${table} ${n}`);
      return deletedRows(run) === 0
        ? `Nothing had expired (${run.ms} ms).`
        : `Purged ${deletedRows(run)} expired rows in ${run.ms} ms: ${tables.join(', ')}`;
    });
  });
}
