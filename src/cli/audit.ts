/** `latchkey audit list [--type T] [--user USERNAME] [--client CLIENT_ID] [--limit N] [--json]` */
import { describeAuditEvent } from '../admin/audit.js';
import { dbOption, jsonOption, parse, print, UsageError } from './args.js';
import { withContext } from './db.js';

export async function auditCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'list')
    throw new UsageError(
      'usage: latchkey audit list [--type T] [--user USERNAME] [--client CLIENT_ID] [--limit N] [--json]',
    );
  const { values } = parse(rest, {
    ...dbOption,
    ...jsonOption,
    type: { type: 'string' },
    user: { type: 'string' },
    client: { type: 'string' },
    limit: { type: 'string' },
  });
  if (values.limit !== undefined && !/^\d{1,4}$/.test(values.limit))
    throw new UsageError('--limit must be a number from 1 to 1000');
  await withContext(values.db, async (ctx) => {
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
    });
    const rows = events.map(describeAuditEvent);
    print(values.json!, rows, () =>
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
