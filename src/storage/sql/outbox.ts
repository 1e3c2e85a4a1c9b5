import type { Kysely, Selectable } from 'kysely';
import type { Database, MailOutboxTable } from '../schema.js';
import type { NewOutboxMessage, OutboxMessage, OutboxStore } from '../types.js';
import { mapDuplicate } from './errors.js';

const num = (v: number | null): number | null => (v === null ? null : Number(v));

const toMessage = (r: Selectable<MailOutboxTable>): OutboxMessage => ({
  id: r.id,
  to: r.recipient,
  toName: r.recipient_name,
  subject: r.subject,
  text: r.text_body,
  html: r.html_body,
  createdAt: Number(r.created_at),
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  claimedBy: r.claimed_by,
  claimedUntil: num(r.claimed_until),
  sentAt: num(r.sent_at),
  failedAt: num(r.failed_at),
  lastError: r.last_error,
  purgeAfter: num(r.purge_after),
});

export class SqlOutboxStore implements OutboxStore {
  constructor(private readonly db: Kysely<Database>) {}

  async add(m: NewOutboxMessage): Promise<void> {
    await mapDuplicate(`outbox message ${m.id} exists`, () =>
      this.db
        .insertInto('mail_outbox')
        .values({
          id: m.id,
          recipient: m.to,
          recipient_name: m.toName,
          subject: m.subject,
          text_body: m.text,
          html_body: m.html,
          created_at: m.createdAt,
          attempts: 0,
          next_attempt_at: m.createdAt,
        })
        .execute(),
    );
  }

  async due(now: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('mail_outbox')
      .select('id')
      .where('next_attempt_at', '<=', now)
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async claim(
    id: string,
    owner: string,
    now: number,
    leaseUntil: number,
  ): Promise<OutboxMessage | undefined> {
    // One UPDATE whose WHERE holds every condition: of two senders, one takes the lease.
    const r = await this.db
      .updateTable('mail_outbox')
      .set((eb) => ({ claimed_by: owner, claimed_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('next_attempt_at', '<=', now)
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .returningAll()
      .executeTakeFirst();
    return r && toMessage(r);
  }

  async sent(id: string, owner: string, at: number, purgeAfter: number): Promise<boolean> {
    return this.end(id, owner, { sent_at: at, purge_after: purgeAfter, text_body: '', html_body: '' });
  }

  async retry(id: string, owner: string, error: string, nextAttemptAt: number): Promise<boolean> {
    return this.end(id, owner, { last_error: error, next_attempt_at: nextAttemptAt });
  }

  async failed(id: string, owner: string, error: string, at: number, purgeAfter: number): Promise<boolean> {
    return this.end(id, owner, {
      failed_at: at,
      last_error: error,
      purge_after: purgeAfter,
      text_body: '',
      html_body: '',
    });
  }

  private async end(id: string, owner: string, set: Partial<Omit<MailOutboxTable, 'id'>>): Promise<boolean> {
    const r = await this.db
      .updateTable('mail_outbox')
      .set({ ...set, claimed_by: null, claimed_until: null })
      .where('id', '=', id)
      .where('claimed_by', '=', owner)
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async get(id: string): Promise<OutboxMessage | undefined> {
    const r = await this.db.selectFrom('mail_outbox').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toMessage(r);
  }
}
