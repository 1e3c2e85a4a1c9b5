/**
 * The admin API's audit log: GET /admin/api/audit?type=&user_id=&client_id=&since=&limit=, the
 * events newest first (`since` a duration such as 1h, `limit` 1–1000, default 100).
 */
import type { RouteHandlerMethod } from 'fastify';
import { AUDIT_SINCE_MESSAGE, auditSince, describeAuditEvent } from '../../../admin/audit.js';
import type { ServerContext } from '../../../context.js';
import { assertWellFormed, readParams } from '../../../protocol/params.js';
import { authenticate } from './auth.js';
import { bad, send } from './json.js';

/** GET /admin/api/audit. */
export function listAudit(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    await authenticate(ctx, req);
    const q = readParams(req.query);
    assertWellFormed(q);
    const type = q.get('type') || undefined;
    if (type !== undefined && !/^[a-z_]{1,64}$/.test(type))
      throw bad('type must be an audit event type such as login_failure.');
    const userId = q.get('user_id') || undefined;
    const clientId = q.get('client_id') || undefined;
    if ((userId?.length ?? 0) > 256 || (clientId?.length ?? 0) > 256)
      throw bad('user_id or client_id is too long.');
    const rawLimit = q.get('limit');
    if (
      rawLimit !== undefined &&
      (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 1000)
    )
      throw bad('limit must be a whole number from 1 to 1000.');
    // since: events of the last DURATION (such as 1h); the store takes the ms-epoch start.
    const rawSince = q.get('since') || undefined;
    const since = rawSince === undefined ? undefined : auditSince(rawSince, ctx.clock.now());
    if (rawSince !== undefined && since === undefined) throw bad(`since ${AUDIT_SINCE_MESSAGE}`);
    const events = await ctx.audit.list({
      type,
      userId,
      clientId,
      limit: rawLimit === undefined ? 100 : Number(rawLimit),
      ...(since !== undefined ? { since } : {}),
    });
    return send(reply, 200, events.map(describeAuditEvent));
  };
}
