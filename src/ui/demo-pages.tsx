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
