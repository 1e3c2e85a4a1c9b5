/**
 * The admin console's audit log page (GET /admin/audit): the latest 200 events, optionally of
 * one type, with the usernames of the users they name.
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { AUDIT_TYPES } from '../../../ops/audit-log.js';
import { OAuthError } from '../../../protocol/errors.js';
import { type AuditRow, auditPage } from '../../../ui/admin/pages.js';
import { sendHtml } from '../../respond.js';
import { page } from './page.js';

/** The event types the page's filter offers: every one. */
export { AUDIT_TYPES };

/** GET /admin/audit?type=. */
export function getAudit(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'audit', async (_req, reply, a) => {
    const type = a.params.get('type') ?? '';
    if (type !== '' && !/^[a-z_]{1,64}$/.test(type))
      throw new OAuthError('invalid_request', 'Unknown audit event type.');
    const events = await ctx.audit.list({ ...(type ? { type } : {}), limit: 200 });
    const names = new Map<string, string>();
    for (const id of new Set(events.map((e) => e.userId).filter((x): x is string => x !== null))) {
      const u = await ctx.storage.users.getById(id);
      if (u) names.set(id, u.username);
    }
    const rows: AuditRow[] = events.map((e) => {
      const username = e.userId ? names.get(e.userId) : undefined;
      return { ...e, ...(username !== undefined ? { username } : {}) };
    });
    return sendHtml(reply, 200, auditPage({ chrome: a.chrome, events: rows, type, types: AUDIT_TYPES }));
  });
}
