/**
 * `latchkey audit list [--type T] [--user USERNAME] [--client CLIENT_ID] [--since S] [--limit N] [--json]`
 * `latchkey audit export --since S | --from ISO [--to ISO]` (JSON lines, oldest first)
 */
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

/** An ISO 8601 date or date-time (`2026-12-01`, `2026-12-01T08:00:00Z`) as ms epoch, or a usage error. */
function isoTime(flag: string, text: string): number {
  // A time names its offset (Z or ±hh:mm): without one Date.parse reads it in the host's zone.
  // A date alone is a UTC day.
  const ms = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (Number.isNaN(ms))
    throw new UsageError(
      `${flag} must be an ISO 8601 date, or a time with its offset, such as 2026-12-01 or 2026-12-01T08:00:00Z`,
    );
  return ms;
}

/** Events are read this many at a time (oldest first, by a cursor), so a large log streams. */
const EXPORT_PAGE = 1000;

async function exportCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
    ...dbOption,
    since: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  });
  if ((values.since === undefined) === (values.from === undefined))
    throw new UsageError('audit export needs --since S or --from ISO (one of them)');
  if (values.since !== undefined && parseDuration(values.since) === undefined)
    throw new UsageError(`--since ${AUDIT_SINCE_MESSAGE}`);
  if (values.since !== undefined && values.to !== undefined)
    throw new UsageError('--to goes with --from (--since counts back from now)');
  const from = values.from === undefined ? undefined : isoTime('--from', values.from);
  const to = values.to === undefined ? undefined : isoTime('--to', values.to);
  if (from !== undefined && to !== undefined && to <= from) throw new UsageError('--to must be after --from');
  await withContext(io, values.db, async (ctx) => {
    const now = ctx.clock.now();
    const start = values.since === undefined ? from : auditSince(values.since, now);
    const end = to ?? now + 1;
    let after: { at: number; id: string } | undefined;
    for (;;) {
      const page = await ctx.storage.audit.page({
        ...(start !== undefined ? { from: start } : {}),
        to: end,
        limit: EXPORT_PAGE,
        ...(after ? { after } : {}),
      });
      if (page.length > 0) io.out(`${page.map((e) => JSON.stringify(describeAuditEvent(e))).join('\n')}\n`);
      if (page.length < EXPORT_PAGE) return;
      const last = page[page.length - 1]!;
      after = { at: last.at, id: last.id };
    }
  });
}

export const auditCommand = commandGroup('audit', { list: listCommand, export: exportCommand });
