/**
 * The background mail sender: every few seconds it claims the outbox messages that are due (one
 * conditional UPDATE each, storage `outbox.claim`: two nodes never send the same message) and
 * hands them to the transport. A failure is retried with exponential backoff (30 s, 1 min,
 * 2 min … at most an hour); after MAX_ATTEMPTS it is given up (failed). Sent and failed messages
 * lose their bodies at once and are purged MAIL_RETENTION_MS later (storage/sql/purge.ts).
 * Started next to the purge timer (server.ts); tests call tick() themselves.
 */
import type { Clock } from '../clock.js';
import { randomToken } from '../crypto.js';
import { MAIL_RETENTION_MS } from '../storage/retention.js';
import type { OutboxMessage, OutboxStore } from '../storage/types.js';
import type { MailTransport } from './mail.js';

export const MAIL_TICK_MS = 5_000;
export const FIRST_RETRY_MS = 30_000;
export const MAX_RETRY_MS = 3600_000;
export const MAX_ATTEMPTS = 8;
/** A claim outlives any one delivery (the SMTP transport's timeouts add up to less). */
export const MAIL_LEASE_MS = 5 * 60_000;
/** Messages one tick claims at most. */
export const MAIL_BATCH = 20;

/** The wait before attempt n + 1, after n attempts failed: 30 s, 1 min, 2 min … capped. */
export const retryDelayMs = (attempts: number): number =>
  Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));

/**
 * The last error as stored: a short code and reply, nothing secret. Credentials in URLs are
 * masked, addresses dropped (the SMTP reply may echo them), and it is cut at 200 characters.
 */
export function describeMailError(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown } | null;
  const parts: string[] = [];
  if (e && typeof e.code === 'string') parts.push(e.code);
  if (e && typeof e.responseCode === 'number') parts.push(String(e.responseCode));
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  parts.push(
    message
      .replace(/\/\/[^/@\s]*@/g, '//***@')
      .replace(/[^\s<>"',;:]+@[^\s<>"',;]+/g, '<address>')
      .replace(/\s+/g, ' '),
  );
  return parts.join(' ').slice(0, 200);
}

export interface SenderReport {
  sent: number;
  retried: number;
  failed: number;
}

export interface MailSenderOptions {
  /** This sender's claim name (default: random). */
  owner?: string;
  from: { address: string; name: string | null };
  maxAttempts?: number;
  leaseMs?: number;
  batch?: number;
  /** A message could not be sent (it waits, or was given up): the id and error only, no body. */
  onError?: (e: { id: string; attempts: number; error: string; gaveUp: boolean }) => void;
  /** The tick itself failed (the database, say). */
  onTickError?: (err: unknown) => void;
}

export class MailSender {
  readonly owner: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly transport: MailTransport,
    private readonly clock: Clock,
    private readonly opts: MailSenderOptions,
  ) {
    this.owner = opts.owner ?? `sender-${randomToken(9)}`;
  }

  /** One pass: claims what is due and sends it, one message after another. */
  async tick(): Promise<SenderReport> {
    const report: SenderReport = { sent: 0, retried: 0, failed: 0 };
    const now = this.clock.now();
    const ids = await this.outbox.due(now, this.opts.batch ?? MAIL_BATCH);
    for (const id of ids) {
      if (this.#stopped) break;
      const at = this.clock.now();
      const m = await this.outbox.claim(id, this.owner, at, at + (this.opts.leaseMs ?? MAIL_LEASE_MS));
      if (!m) continue; // another sender took it
      await this.#deliver(m, report);
    }
    return report;
  }

  async #deliver(m: OutboxMessage, report: SenderReport): Promise<void> {
    try {
      await this.transport.send({
        from: this.opts.from,
        to: { address: m.to, name: m.toName },
        subject: m.subject,
        text: m.text,
        html: m.html,
      });
    } catch (err) {
      const error = describeMailError(err);
      const now = this.clock.now();
      const gaveUp = m.attempts >= (this.opts.maxAttempts ?? MAX_ATTEMPTS);
      if (gaveUp) {
        await this.outbox.failed(m.id, this.owner, error, now, now + MAIL_RETENTION_MS);
        report.failed++;
      } else {
        await this.outbox.retry(m.id, this.owner, error, now + retryDelayMs(m.attempts));
        report.retried++;
      }
      this.opts.onError?.({ id: m.id, attempts: m.attempts, error, gaveUp });
      return;
    }
    const now = this.clock.now();
    await this.outbox.sent(m.id, this.owner, now, now + MAIL_RETENTION_MS);
    report.sent++;
  }

  /** Ticks every `intervalMs` (unref'd); ticks never overlap. */
  start(intervalMs = MAIL_TICK_MS): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#running || this.#stopped) return;
      this.#running = this.tick()
        .catch((err) => this.opts.onTickError?.(err))
        .finally(() => {
          this.#running = undefined;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops ticking; a tick in progress finishes the message it is sending. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
    this.transport.close?.();
  }
}
