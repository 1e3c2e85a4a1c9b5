/** What `latchkey serve` prints once it listens: the listening line, then warnings and notes. */
import { type Config, configWarnings } from '../config.js';
import { maskSmtpUrl } from '../ops/mail-transport.js';
import type { Storage } from '../storage/index.js';
import { hasClearPart } from '../tokens/key-encryption.js';

/** `Latchkey listening on URL  (issuer …, database …)`; `more` is added inside the brackets. */
export const listeningLine = (url: string, config: Config, location: string, more = ''): string =>
  `Latchkey listening on ${url}  (issuer ${config.issuer}, database ${location}${more})`;

/** The WARNING and NOTE lines of a start (one reads the signing keys). */
export async function startupNotes(config: Config, storage: Pick<Storage, 'keys'>): Promise<string[]> {
  const out: string[] = [];
  if (config.issuer.startsWith('http:')) {
    out.push(
      'WARNING: the issuer uses http. That is for development only: use an https issuer in production.',
    );
  }
  if (config.keyEncryptionKey === undefined && config.issuer.startsWith('https:')) {
    out.push(
      'NOTE: signing keys are stored unencrypted; set LATCHKEY_KEY_ENCRYPTION_KEY (docs/operations.md).',
    );
  }
  if (config.keyEncryptionKey !== undefined && (await storage.keys.listAll()).some(hasClearPart)) {
    out.push(
      'NOTE: some signing keys are still stored in the clear: run `latchkey keys encrypt`, then `latchkey keys rotate`.',
    );
  }
  if (config.clockOffsetSec !== 0)
    out.push(
      `WARNING: the clock is shifted by ${config.clockOffsetSec} s (LATCHKEY_CLOCK_OFFSET_SEC); testing only.`,
    );
  out.push(mailLine(config));
  if (!config.rateLimit) out.push('WARNING: sign-in throttling is off (LATCHKEY_RATE_LIMIT=false).');
  for (const w of configWarnings(config)) out.push(`WARNING: ${w}`);
  return out;
}

/** Where mail goes, in one line; the SMTP URL's password never appears (maskSmtpUrl). */
export function mailLine(config: Pick<Config, 'smtpUrl' | 'demo' | 'issuer'>): string {
  if (config.smtpUrl !== undefined) return `NOTE: email is sent through ${maskSmtpUrl(config.smtpUrl)}.`;
  if (config.demo)
    return `NOTE: email goes to the development outbox at ${config.issuer}/demo/mail (no LATCHKEY_SMTP_URL).`;
  return 'NOTE: email is off: set LATCHKEY_SMTP_URL (smtp:// or smtps://) and LATCHKEY_MAIL_FROM to send mail (docs/operations.md).';
}
