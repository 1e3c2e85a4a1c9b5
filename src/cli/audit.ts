/** `latchkey audit list [--type T] [--user USERNAME] [--client CLIENT_ID] [--since S] [--limit N] [--json]` */
import { AUDIT_SINCE_MESSAGE, auditSince, describeAuditEvent } from '../admin/audit.js';
import { parseDuration } from '../duration.js';
import { dbOption, jsonOption, parse, print, UsageError } from './args.js';
import { commandGroup } from './command-table.js';
import { withContext } from './db.js';
import type { Io } from './io.js';

async function listCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
    ...dbOption,
    ...jsonOption,
    type: { type: 'string' },
    user: { type: 'string' },
    client: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
  });
  if (values.limit !== undefined && !/^\d{1,4}$/.test(values.limit))
    throw new UsageError('--limit must be a number from 1 to 1000');
  // --since 1h: the events of the last hour (seconds or a duration).
  if (values.since !== undefined && parseDuration(values.since) === undefined)
    throw new UsageError(`--since ${AUDIT_SINCE_MESSAGE}`);
  await withContext(io, values.db, async (ctx) => {
    const since = values.since === undefined ? undefined : auditSince(values.since, ctx.clock.now());
    let userId: string | undefined;
    if (values.user !== undefined) {
      const u = await ctx.storage.users.getByUsername(values.user);
      if (!u) throw new UsageError(`no user named ${values.user}`);
      userId = u.id;
    }
    const events = await ctx.audit.list({
      type: values.type,
      userId,
      clientId: values.client,
      limit: values.limit === undefined ? 100 : Number(values.limit),
      ...(since !== undefined ? { since } : {}),
    });
    const rows = events.map(describeAuditEvent);
    print(io, values.json!, rows, () =>
      rows.length === 0
        ? 'No audit events.'
        : rows
            .map(
              (r) =>
                `${r.at}  ${r.type.padEnd(22)}  client=${r.client_id ?? '-'}  user=${r.user_id ?? '-'}  ip=${r.ip ?? '-'}${r.detail ? `  ${JSON.stringify(r.detail)}` : ''}`,
            )
            .join('\n'),
    );
  });
}

export const auditCommand = commandGroup('audit', { list: listCommand });
