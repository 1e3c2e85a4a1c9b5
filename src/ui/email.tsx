/**
 * Email bodies: one layout with the issuer's name, plain text and HTML built from the same
 * parts. Every value is escaped (preact's escaping, as the pages have it); styles are inline and
 * there is no remote image, font or any third-party resource.
 */
import { renderToString } from 'preact-render-to-string';
import { MailInputError } from '../ops/mail.js';

export interface EmailContent {
  /** Who sends it: the issuer's name (its host when it has no other). */
  issuerName: string;
  heading: string;
  paragraphs: string[];
  /** A button and its link (a one-time link, say); the link is also written out in the text. */
  action?: { label: string; url: string };
  /** The small print under the message (why the person got it). */
  footer?: string;
}

const font = 'font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif';

/** The plain text and the HTML of one message. */
export function emailBodies(c: EmailContent): { text: string; html: string } {
  // A link is ours: https (http for a development issuer), never javascript: or data:.
  if (c.action && !/^https?:\/\/[^\s]+$/.test(c.action.url))
    throw new MailInputError('an email link must be an http(s) URL without spaces');
  const text = [
    c.heading,
    '',
    ...c.paragraphs.flatMap((p) => [p, '']),
    ...(c.action ? [`${c.action.label}: ${c.action.url}`, ''] : []),
    ...(c.footer ? ['--', c.footer, ''] : []),
    `— ${c.issuerName}`,
  ].join('\n');
  const html = `<!doctype html>${renderToString(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{c.heading}</title>
      </head>
      <body style={`margin:0;padding:24px;background:#f4f4f5;color:#18181b;${font}`}>
        <div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px">
          <p style="margin:0 0 16px;font-weight:600;color:#52525b">{c.issuerName}</p>
          <h1 style="margin:0 0 16px;font-size:20px">{c.heading}</h1>
          {c.paragraphs.map((p) => (
            <p style="margin:0 0 12px;line-height:1.5">{p}</p>
          ))}
          {c.action ? (
            <>
              <p style="margin:20px 0">
                <a
                  href={c.action.url}
                  style="display:inline-block;background:#1d4ed8;color:#ffffff;padding:10px 16px;border-radius:6px;text-decoration:none"
                >
                  {c.action.label}
                </a>
              </p>
              <p style="margin:0 0 12px;font-size:13px;color:#52525b;word-break:break-all">{c.action.url}</p>
            </>
          ) : null}
          {c.footer ? <p style="margin:20px 0 0;font-size:12px;color:#71717a">{c.footer}</p> : null}
        </div>
      </body>
    </html>,
  )}`;
  return { text, html };
}

/** The name an email says it is from: the issuer's host. */
export const issuerName = (issuer: string): string => {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
};
