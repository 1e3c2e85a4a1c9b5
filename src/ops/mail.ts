/**
 * Mail for later features (sign-up, email verification, password reset, invitations): the
 * Mailer checks a message and puts it in the outbox (storage `outbox`); the background sender
 * (ops/mail-sender.ts) delivers it, so no HTTP answer waits for an SMTP server.
 *
 * `mailer.enabled` is false when there is nowhere to send (no LATCHKEY_SMTP_URL and not --demo):
 * features that need mail switch themselves off then. Nothing here logs a body or a recipient.
 */
import type { Clock } from '../clock.js';
import { randomToken } from '../crypto.js';
import type { OutboxStore } from '../storage/types.js';

/** A message refused before it is stored (bad recipient, header injection, too big). */
export class MailInputError extends Error {
  override name = 'MailInputError';
}

/** One recipient: an address, or an address with a display name. */
export type Recipient = string | { address: string; name?: string };

export interface MailInput {
  to: Recipient;
  subject: string;
  text: string;
  html: string;
}

/** What the sender hands a transport: checked fields, the From of LATCHKEY_MAIL_FROM. */
export interface OutgoingMail {
  from: { address: string; name: string | null };
  to: { address: string; name: string | null };
  subject: string;
  text: string;
  html: string;
}

/** Where the sender delivers: SMTP (ops/mail-transport.ts) or the demo outbox (DevMailbox). */
export interface MailTransport {
  /** `smtp`, `demo`: which one, for the start-up line and metrics. */
  readonly kind: string;
  send(mail: OutgoingMail): Promise<void>;
  close?(): void;
}

export const MAX_ADDRESS_LENGTH = 254;
export const MAX_NAME_LENGTH = 100;
export const MAX_SUBJECT_LENGTH = 200;
export const MAX_TEXT_BYTES = 64 * 1024;
export const MAX_HTML_BYTES = 256 * 1024;

/**
 * One plain address: a dot-atom local part (RFC 5322 §3.2.3, no quoted strings, no comments) and
 * a domain of DNS labels. No space, comma, semicolon, angle bracket, quote or control character
 * can pass: nothing nodemailer's address parser would split into several addresses or read as a
 * header.
 */
const ADDRESS =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** The single-label domain `localhost` (development). */
const LOCAL_ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@localhost$/;
/** C0 and C1 controls (CR, LF, NUL, tab ...), line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function checkAddress(address: unknown, what = 'recipient'): string {
  if (typeof address !== 'string' || address.length === 0) throw new MailInputError(`the ${what} is missing`);
  if (address.length > MAX_ADDRESS_LENGTH) throw new MailInputError(`the ${what} is too long`);
  // `=?` opens an RFC 2047 encoded word: some parsers decode one even in an address and find
  // another address (or a name) in it.
  if ((!ADDRESS.test(address) && !LOCAL_ADDRESS.test(address)) || address.includes('=?'))
    throw new MailInputError(`the ${what} is not one plain email address`);
  return address;
}

/** A display name: printable, no quotes, brackets, commas or semicolons (nodemailer quotes the rest). */
export function checkName(name: unknown, what = 'recipient name'): string | null {
  if (name === undefined || name === null || name === '') return null;
  if (typeof name !== 'string') throw new MailInputError(`the ${what} is not text`);
  if (name.length > MAX_NAME_LENGTH) throw new MailInputError(`the ${what} is too long`);
  if (CONTROL.test(name) || /[<>",;\\@]/.test(name) || name.includes('=?'))
    throw new MailInputError(`the ${what} has a character not allowed in a name`);
  return name.trim() === '' ? null : name;
}

export function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject.trim() === '')
    throw new MailInputError('the subject is missing');
  if (subject.length > MAX_SUBJECT_LENGTH) throw new MailInputError('the subject is too long');
  if (CONTROL.test(subject)) throw new MailInputError('the subject has a line break or control character');
  return subject;
}

function checkBody(body: unknown, what: string, maxBytes: number): string {
  if (typeof body !== 'string' || body === '') throw new MailInputError(`the ${what} body is missing`);
  if (Buffer.byteLength(body, 'utf8') > maxBytes) throw new MailInputError(`the ${what} body is too big`);
  // A NUL byte has no place in a mail body (and PostgreSQL text refuses it).
  if (body.includes('\u0000')) throw new MailInputError(`the ${what} body has a NUL character`);
  return body;
}

/** Every check of enqueue, without storing: the fields as they will be stored. */
export function checkMail(input: MailInput): {
  to: string;
  toName: string | null;
  subject: string;
  text: string;
  html: string;
} {
  if (typeof input !== 'object' || input === null) throw new MailInputError('no message');
  const to =
    typeof input.to === 'string'
      ? { address: checkAddress(input.to), name: null }
      : typeof input.to === 'object' && input.to !== null
        ? { address: checkAddress(input.to.address), name: checkName(input.to.name) }
        : (() => {
            throw new MailInputError('the recipient is missing');
          })();
  return {
    to: to.address,
    toName: to.name,
    subject: checkSubject(input.subject),
    text: checkBody(input.text, 'text', MAX_TEXT_BYTES),
    html: checkBody(input.html, 'HTML', MAX_HTML_BYTES),
  };
}

/**
 * LATCHKEY_MAIL_FROM: `address` or `Name <address>`, checked as a recipient is; undefined when
 * it is not that (config.ts turns it into a ConfigError).
 */
export function parseMailFrom(raw: string): { address: string; name: string | null } | undefined {
  const m = /^\s*(?:([^<>]*?)\s*<([^<>]+)>|([^<>\s]+))\s*$/.exec(raw);
  if (!m) return undefined;
  try {
    const address = checkAddress(m[2] ?? m[3], 'sender');
    return { address, name: checkName(m[1], 'sender name') };
  } catch {
    return undefined;
  }
}

/**
 * The development outbox of `serve --demo` without SMTP: the newest messages in memory, shown at
 * GET /demo/mail, never logged.
 */
export class DevMailbox implements MailTransport {
  readonly kind = 'demo';
  readonly #messages: (OutgoingMail & { at: number })[] = [];
  constructor(
    private readonly clock: Clock,
    private readonly keep = 50,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.#messages.unshift({ ...mail, at: this.clock.now() });
    this.#messages.length = Math.min(this.#messages.length, this.keep);
  }

  /** Newest first. */
  list(): readonly (OutgoingMail & { at: number })[] {
    return this.#messages.map((m) => ({ ...m }));
  }
}

export class Mailer {
  constructor(
    private readonly outbox: OutboxStore,
    private readonly clock: Clock,
    /** Where the sender delivers; undefined: mail is off. */
    readonly transport: MailTransport | undefined,
  ) {}

  /** Whether mail goes anywhere; features that need it are off when it does not. */
  get enabled(): boolean {
    return this.transport !== undefined;
  }

  /** The development outbox (demo mode without SMTP), for GET /demo/mail. */
  get devMailbox(): DevMailbox | undefined {
    return this.transport instanceof DevMailbox ? this.transport : undefined;
  }

  /**
   * Checks a message and stores it in the outbox; the sender delivers it. Throws MailInputError
   * for a bad message (nothing stored), and an Error when mail is off.
   */
  async enqueue(input: MailInput): Promise<{ id: string }> {
    if (!this.enabled) throw new Error('email is off: set LATCHKEY_SMTP_URL');
    const m = checkMail(input);
    const id = `mail_${randomToken(16)}`;
    await this.outbox.add({ id, ...m, createdAt: this.clock.now() });
    return { id };
  }
}
