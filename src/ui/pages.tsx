/** Server-rendered pages: sign-in, consent, error, form_post response, logout. */
import { SCOPE_DESCRIPTIONS } from '../protocol/scopes.js';
import { Layout, renderPage } from './layout.js';
import { PasskeyForm, type PasskeyFormProps, passkeyScripts } from './passkey-form.js';

/**
 * Username and password fields, labelled, with the browser's autocomplete hints; focus goes to
 * the first empty one. Shared by the sign-in page and the admin console's sign-in.
 */
export function CredentialFields(props: {
  username: string | undefined;
  errorId: string | undefined;
  /** Offer passkeys in the username field's autofill (WebAuthn conditional mediation). */
  webauthn?: boolean;
}) {
  return (
    <>
      <label for="username">Username</label>
      <input
        type="text"
        id="username"
        name="username"
        autocomplete={props.webauthn ? 'username webauthn' : 'username'}
        autocapitalize="none"
        spellcheck={false}
        required
        maxLength={128}
        value={props.username ?? ''}
        autofocus={!props.username}
        aria-describedby={props.errorId}
      />
      <label for="password">Password</label>
      <input
        type="password"
        id="password"
        name="password"
        autocomplete="current-password"
        required
        maxLength={1024}
        autofocus={Boolean(props.username)}
      />
    </>
  );
}

export function loginPage(p: {
  action: string;
  csrf: string;
  clientName: string;
  username?: string;
  error?: string;
  cancelAction: string;
  /** Passkey sign-in: where the assertion goes, the options for navigator.credentials.get(), the nonce. */
  passkey?: PasskeyFormProps;
}): string {
  return renderPage(
    <Layout title="Sign in" {...passkeyScripts(p.passkey)}>
      <h1>Sign in</h1>
      <p class="lead">
        to continue to <strong>{p.clientName}</strong>
      </p>
      {p.error ? (
        <p class="error" role="alert" id="login-error">
          {p.error}
        </p>
      ) : null}
      <form method="post" action={p.action} novalidate={false}>
        <input type="hidden" name="csrf" value={p.csrf} />
        <CredentialFields
          username={p.username}
          errorId={p.error ? 'login-error' : undefined}
          webauthn={p.passkey !== undefined}
        />
        <button type="submit">Sign in</button>
      </form>
      {p.passkey ? (
        <>
          <p class="divider" hidden data-webauthn-only>
            or
          </p>
          <PasskeyForm {...p.passkey} label="Sign in with a passkey" secondary />
        </>
      ) : null}
      <form method="post" action={p.cancelAction}>
        <input type="hidden" name="csrf" value={p.csrf} />
        <button type="submit" class="secondary">
          Cancel
        </button>
      </form>
    </Layout>,
  );
}

/** An API a consent covers: its registered name and the words for each scope asked. */
export interface ConsentApiView {
  identifier: string;
  name: string;
  scopes: { value: string; description: string }[];
}

export function consentPage(p: {
  action: string;
  csrf: string;
  clientName: string;
  username: string;
  scopes: string[];
  /** RFC 8707: the APIs the application asks access to, each with its scopes in words. */
  apis?: ConsentApiView[];
  /** A self-registered application: the host of its client_id URL or redirect URI. */
  unverified?: UnverifiedClientView;
}): string {
  const described = p.scopes.filter((s) => SCOPE_DESCRIPTIONS[s] !== undefined);
  const apis = p.apis ?? [];
  return renderPage(
    <Layout title="Allow access">
      <h1>Allow access?</h1>
      <p class="lead">
        <strong>{p.clientName}</strong> wants to:
      </p>
      {p.unverified !== undefined ? <UnverifiedNotice {...p.unverified} /> : null}
      <ul class="scopes">
        {described.length === 0 ? (
          <li>Know that you are signed in</li>
        ) : (
          described.map((s) => <li key={s}>{SCOPE_DESCRIPTIONS[s]}</li>)
        )}
      </ul>
      {apis.map((api) => (
        <section class="consent-api" key={api.identifier}>
          <h2>{api.name}</h2>
          <p class="small">{api.identifier}</p>
          <ul class="scopes">
            {api.scopes.length === 0 ? (
              <li>Use {api.name} on your behalf</li>
            ) : (
              api.scopes.map((s) => (
                <li key={s.value} title={s.value}>
                  {s.description}
                </li>
              ))
            )}
          </ul>
        </section>
      ))}
      <DecisionForm action={p.action} csrf={p.csrf} allowLabel="Allow" username={p.username} />
    </Layout>,
  );
}

/** Deny or allow (the consent and device confirmation pages), then who is signed in. */
export function DecisionForm(p: { action: string; csrf: string; allowLabel: string; username: string }) {
  return (
    <>
      <form method="post" action={p.action}>
        <input type="hidden" name="csrf" value={p.csrf} />
        <div class="row">
          <button type="submit" name="decision" value="deny" class="secondary">
            Deny
          </button>
          <button type="submit" name="decision" value="allow">
            {p.allowLabel}
          </button>
        </div>
      </form>
      <p class="small">Signed in as {p.username}.</p>
    </>
  );
}

/** What the consent page shows of an application that registered itself. */
export interface UnverifiedClientView {
  /** Where it is: its metadata document's host and, when another, where codes go. */
  host: string;
  /** The host of each of its redirect URIs. */
  redirectHosts: string[];
  /** A metadata document whose redirect URIs are all loopback: any local program can claim it. */
  loopbackOnly: boolean;
}

/** The consent page's notice for an application that registered itself (nobody vetted it). */
export function UnverifiedNotice(p: UnverifiedClientView) {
  return (
    <div class="warning" role="note" id="unverified-client">
      <p>
        This application registered itself: it is not verified by the administrator of this site, and its name
        is its own claim. It is at <strong>{p.host}</strong>. Allow it only if you trust that site.
      </p>
      {p.redirectHosts.length > 0 ? (
        <p>
          It receives your sign-in at:{' '}
          {p.redirectHosts.map((h, i) => (
            <span key={h}>
              {i > 0 ? ', ' : ''}
              <strong>{h}</strong>
            </span>
          ))}
          .
        </p>
      ) : null}
      {p.loopbackOnly ? (
        <p id="loopback-only">
          It sends you back only to this computer (a loopback address): any program running here could claim
          to be it. Allow it only if you just started it yourself.
        </p>
      ) : null}
    </div>
  );
}

export function errorPage(p: { title: string; message: string; code?: string }): string {
  return renderPage(
    <Layout title={p.title}>
      <h1>{p.title}</h1>
      <p class="lead">{p.message}</p>
      {p.code ? (
        <p class="small">
          Error code: <code>{p.code}</code>
        </p>
      ) : null}
    </Layout>,
  );
}

/** OAuth 2.0 Form Post Response Mode §2: auto-submitting form; works without script too. */
export function formPostPage(p: { action: string; fields: Record<string, string>; nonce: string }): string {
  return renderPage(
    <Layout title="Continue" scriptNonce={p.nonce} script="document.forms[0].submit();">
      <h1>Continuing…</h1>
      <form method="post" action={p.action}>
        {Object.entries(p.fields).map(([k, v]) => (
          <input type="hidden" name={k} value={v} key={k} />
        ))}
        <noscript>
          <button type="submit">Continue</button>
        </noscript>
      </form>
    </Layout>,
  );
}

export function logoutConfirmPage(p: {
  action: string;
  csrf: string;
  fields: Record<string, string>;
}): string {
  return renderPage(
    <Layout title="Sign out">
      <h1>Sign out?</h1>
      <p class="lead">Do you want to sign out of Latchkey?</p>
      <form method="post" action={p.action}>
        <input type="hidden" name="csrf" value={p.csrf} />
        {Object.entries(p.fields).map(([k, v]) => (
          <input type="hidden" name={k} value={v} key={k} />
        ))}
        <button type="submit">Sign out</button>
      </form>
    </Layout>,
  );
}

export function loggedOutPage(): string {
  return renderPage(
    <Layout title="Signed out">
      <h1>You are signed out</h1>
      <p class="lead">You can close this window.</p>
    </Layout>,
  );
}
