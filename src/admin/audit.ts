/** The audit log as administrators read it (CLI, admin API, console); events come from ops/audit-log.ts. */
import { DURATION_HINT, parseDuration } from '../duration.js';
import type { AuditEvent } from '../storage/types.js';

export type { AuditInput, AuditType } from '../ops/audit-log.js';

/** The public view of an audit event (CLI `--json`, admin API). */
export function describeAuditEvent(e: AuditEvent): Record<string, unknown> & { at: string; type: string } {
  return {
    at: new Date(e.at).toISOString(),
    type: e.type,
    client_id: e.clientId,
    user_id: e.userId,
    ip: e.ip,
    detail: e.detail,
  };
}

/** What a wrong `since` is told (after the name of the flag or field). */
export const AUDIT_SINCE_MESSAGE = `must be ${DURATION_HINT}`;

/**
 * The start (ms epoch) of "the last `text`" (a duration such as `1h`, or seconds) at `now`, for
 * the `since` filter of the audit log; undefined when `text` is not a duration.
 */
export function auditSince(text: string, now: number): number | undefined {
  const sec = parseDuration(text);
  return sec === undefined ? undefined : now - sec * 1000;
}
