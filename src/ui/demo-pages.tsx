/** Demo mode's own redirect target: the code, the exchange as curl, and the exchanged tokens. */
import { Layout, renderPage } from './layout.js';

export function demoCallbackPage(p: {
  code: string | undefined;
  error: string | undefined;
  errorDescription: string | undefined;
  curl: string | undefined;
  csrf: string;
  state: string;
  canExchange: boolean;
}): string {
  if (p.code === undefined) {
    return renderPage(
      <Layout title="Sign-in did not finish">
        <h1>Sign-in did not finish</h1>
        <p class="error" role="alert">
          {p.error ?? 'invalid_request'}
          {p.errorDescription ? `: ${p.errorDescription}` : ''}
        </p>
        <p class="small">This is the demo application's redirect URI; the error came from /authorize.</p>
      </Layout>,
    );
  }
  return renderPage(
    <Layout title="Authorization code">
      <h1>Signed in: here is the code</h1>
      <p class="lead">
        Latchkey redirected to the demo application's redirect URI with a single-use authorization code, valid
        for a minute.
      </p>
      <label for="code">code</label>
      <pre id="code">
        <code>{p.code}</code>
      </pre>
      {p.curl ? (
        <>
          <p>Exchange it at the token endpoint with the PKCE code verifier (as a native app would):</p>
          <pre id="curl">
            <code>{p.curl}</code>
          </pre>
        </>
      ) : (
        <p class="small">
          This code was not started from the URL printed at start-up, so its code verifier is unknown here:
          exchange it with the verifier of the URL you used.
        </p>
      )}
      {p.canExchange ? (
        <form method="post" action="/demo/exchange">
          <input type="hidden" name="csrf" value={p.csrf} />
          <input type="hidden" name="code" value={p.code} />
          <input type="hidden" name="state" value={p.state} />
          <button type="submit">Exchange the code and show the tokens</button>
        </form>
      ) : null}
    </Layout>,
  );
}

export interface ShownToken {
  name: string;
  value: string;
  /** JWT header and claims, decoded (their signature is the resource server's to check). */
  header?: string;
  claims?: string;
}

export function demoTokensPage(p: { status: number; tokens: ShownToken[]; error?: string }): string {
  return renderPage(
    <Layout title="Tokens">
      <h1>{p.error ? 'The exchange was refused' : 'Tokens from /token'}</h1>
      {p.error ? (
        <p class="error" role="alert">
          HTTP {p.status}: {p.error}
        </p>
      ) : (
        <p class="lead">The token endpoint answered {p.status}. Decoded, these are:</p>
      )}
      {p.tokens.map((t) => (
        <section>
          <h2>{t.name}</h2>
          {t.claims !== undefined ? (
            <>
              <pre>
                <code>{t.header}</code>
              </pre>
              <pre>
                <code>{t.claims}</code>
              </pre>
            </>
          ) : (
            <pre>
              <code>{t.value}</code>
            </pre>
          )}
        </section>
      ))}
      <p class="small">
        Start a new sign-in from the authorize URL in the terminal: a code works once, and the printed
        verifier belongs to one URL.
      </p>
    </Layout>,
  );
}

/** A message of the development outbox as GET /demo/mail shows it. */
export interface ShownMail {
  at: string;
  to: string;
  subject: string;
  text: string;
}

/** Demo mode without SMTP: the mail the server would have sent, newest first (text bodies). */
export function demoMailPage(p: { messages: ShownMail[] }): string {
  return renderPage(
    <Layout title="Development outbox" wide>
      <h1>Development outbox</h1>
      <p class="lead">
        Demo mode without LATCHKEY_SMTP_URL: the mail the server sends is kept here (in memory, the newest
        50), not delivered.
      </p>
      {p.messages.length === 0 ? <p>No mail yet.</p> : null}
      {p.messages.map((m) => (
        <article class="mail">
          <h2>{m.subject}</h2>
          <p class="small">
            to {m.to}, {m.at}
          </p>
          <pre>
            <code>{m.text}</code>
          </pre>
        </article>
      ))}
    </Layout>,
  );
}
