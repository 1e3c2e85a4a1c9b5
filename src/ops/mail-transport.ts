/** Sending through SMTP with nodemailer (LATCHKEY_SMTP_URL), and the URL as it may be printed. */
import { createTransport } from 'nodemailer';
import type { MailTransport, OutgoingMail } from './mail.js';

/** The SMTP URL with its password (and user name) masked: what a start-up line may show. */
export function maskSmtpUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '****';
    if (u.username) u.username = u.username.length > 2 ? `${u.username.slice(0, 2)}***` : '***';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * An SMTP transport: smtp:// (STARTTLS when the server offers it) or smtps:// (TLS from the
 * start), credentials in the URL. Timeouts keep one delivery well inside the sender's lease;
 * nodemailer reads no files and fetches no URLs for a message.
 */
export function smtpTransport(url: string): MailTransport {
  const transport = createTransport({
    url,
    connectionTimeout: 20_000,
    greetingTimeout: 20_000,
    socketTimeout: 60_000,
    disableFileAccess: true,
    disableUrlAccess: true,
  } as Parameters<typeof createTransport>[0]);
  return {
    kind: 'smtp',
    async send(mail: OutgoingMail) {
      await transport.sendMail({
        from: mail.from.name ? { name: mail.from.name, address: mail.from.address } : mail.from.address,
        to: mail.to.name ? { name: mail.to.name, address: mail.to.address } : mail.to.address,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        disableFileAccess: true,
        disableUrlAccess: true,
      });
    },
    close() {
      transport.close();
    },
  };
}
