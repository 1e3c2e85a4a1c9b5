/**
 * The audit log's recorder: every event (who did what, when, from where) is written through
 * Audit.record, and whoever needs to know (metrics) listens with onRecorded. Sign-in, grants,
 * the admin services and the console all record here; src/admin/audit.ts has the views.
 */
import type { Clock } from '../clock.js';
import { randomToken } from '../crypto.js';
import type { AuditEvent, AuditStore } from '../storage/types.js';

/** Every kind of audit event (the console's filter offers them all). */
export const AUDIT_TYPES = [
  'login_success',
  'login_failure',
  'login_throttled',
  'consent_granted',
  'consent_denied',
  'device_approved',
  'device_denied',
  'code_reuse_detected',
  'refresh_reuse_detected',
  'logout',
  'client_created',
  'client_updated',
  'client_deleted',
  'client_secret_rotated',
  'client_registered',
  'client_registration_updated',
  'client_registration_refused',
  'registration_token_created',
  'registration_token_revoked',
  'api_created',
  'api_updated',
  'api_deleted',
  'user_created',
  'user_password_set',
  'user_disabled',
  'user_enabled',
  'user_admin_granted',
  'user_admin_revoked',
  'key_rotated',
  'keys_encrypted',
  'passkey_added',
  'passkey_renamed',
  'passkey_removed',
  'passkey_failure',
  'passkey_counter_regression',
  'totp_enrolled',
  'totp_removed',
  'second_factor_success',
  'second_factor_failure',
  'recovery_codes_generated',
  'recovery_code_used',
  'recovery_codes_removed',
  'password_changed',
  'session_ended',
  'grant_revoked_by_user',
  'user_factor_removed',
  'user_mfa_enrolment_required',
  'user_logged_out',
] as const;

export type AuditType = (typeof AUDIT_TYPES)[number];

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
