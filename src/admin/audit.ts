/** The audit log: who did what, when, from where. Written through one small helper. */
import type { Clock } from '../clock.js';
import { randomToken } from '../crypto.js';
import { DURATION_HINT, parseDuration } from '../duration.js';
import type { AuditEvent, AuditStore } from '../storage/types.js';

export type AuditType =
  | 'login_success'
  | 'login_failure'
  | 'login_throttled'
  | 'consent_granted'
  | 'consent_denied'
  | 'code_reuse_detected'
  | 'refresh_reuse_detected'
  | 'logout'
  | 'client_created'
  | 'client_updated'
  | 'client_deleted'
  | 'client_secret_rotated'
  | 'user_created'
  | 'user_password_set'
  | 'user_disabled'
  | 'user_enabled'
  | 'user_admin_granted'
  | 'user_admin_revoked'
  | 'key_rotated'
  | 'keys_encrypted';

export interface AuditInput {
  clientId?: string | null;
  userId?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export class Audit {
  readonly #listeners = new Set<(event: AuditEvent) => void>();
  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
  ) {}

  /** Calls `listener` with every event once it is stored (metrics count them); returns an unsubscribe. */
  onRecorded(listener: (event: AuditEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async record(type: AuditType, input: AuditInput = {}): Promise<void> {
    const at = this.clock.now();
    const event: AuditEvent = {
      // Sortable by time, unique by the random tail.
      id: `${at.toString().padStart(15, '0')}-${randomToken(9)}`,
      at,
      type,
      clientId: input.clientId ?? null,
      userId: input.userId ?? null,
      ip: input.ip ?? null,
      detail: input.detail ?? null,
    };
    await this.store.record(event);
    for (const listener of this.#listeners) listener(event);
  }

  list(opts?: Parameters<AuditStore['list']>[0]) {
    return this.store.list(opts);
  }
}

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
