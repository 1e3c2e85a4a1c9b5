/**
 * The pages of the device authorization grant (RFC 8628 §3.3): the form a person types the
 * code shown on their device into, the confirmation of what the device asks for, and the page
 * that tells them to go back to the device. Escaping is preact's (layout.tsx), as everywhere.
 */

import { SCOPE_DESCRIPTIONS } from '../protocol/scopes.js';
import { Layout, renderPage } from './layout.js';
import { type ConsentApiView, DecisionForm, type UnverifiedClientView, UnverifiedNotice } from './pages.js';

/** GET /device: the user code, typed or prefilled from verification_uri_complete (§3.3.1). */
export function deviceCodePage(p: {
  action: string;
  csrf: string;
  userCode?: string;
  error?: string;
}): string {
  return renderPage(
    <Layout title="Connect a device">
      <h1>Connect a device</h1>
      <p class="lead">Enter the code shown on your device.</p>
      {p.error ? (
        <p class="error" role="alert" id="code-error">
          {p.error}
        </p>
      ) : null}
      <form method="post" action={p.action}>
        <input type="hidden" name="csrf" value={p.csrf} />
        <label for="user_code">Code</label>
        <input
          type="text"
          id="user_code"
          name="user_code"
          class="code"
          autocomplete="one-time-code"
          autocapitalize="characters"
          spellcheck={false}
          required
          maxLength={64}
          placeholder="XXXX-XXXX"
          value={p.userCode ?? ''}
          autofocus
          aria-describedby={p.error ? 'code-error' : undefined}
        />
        <button type="submit">Continue</button>
      </form>
    </Layout>,
  );
}

/**
 * The confirmation after sign-in: the application, the user code (RFC 8628 §3.3.1, §5.4: the person
 * checks it is the one on their device, against remote phishing), what it may do, Approve/Deny.
 */
export function deviceConfirmPage(p: {
  action: string;
  csrf: string;
  clientName: string;
  username: string;
  userCode: string;
  scopes: string[];
  apis: ConsentApiView[];
  /** A self-registered application: where it is, as the consent page shows it. */
  unverified?: UnverifiedClientView;
}): string {
  const described = p.scopes.filter((s) => SCOPE_DESCRIPTIONS[s] !== undefined);
  return renderPage(
    <Layout title="Approve a device">
      <h1>Approve this device?</h1>
      <p class="lead">
        <strong>{p.clientName}</strong> on another device wants to use your account.
      </p>
      {p.unverified !== undefined ? <UnverifiedNotice {...p.unverified} /> : null}
      <p>Check that this code is the one shown on your device:</p>
      <p class="user-code">{p.userCode}</p>
      <p class="warning">
        If you did not start this on a device of your own, or the code is not the same, choose Deny.
      </p>
      <p>It will be able to:</p>
      <ul class="scopes">
        {described.length === 0 ? (
          <li>Know who you are</li>
        ) : (
          described.map((s) => <li key={s}>{SCOPE_DESCRIPTIONS[s]}</li>)
        )}
        {p.apis.map((api) => (
          <li key={api.identifier}>
            Use <strong>{api.name}</strong> on your behalf
            {api.scopes.length > 0 ? (
              <ul>
                {api.scopes.map((s) => (
                  <li key={s.value}>{s.description || s.value}</li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
      <DecisionForm action={p.action} csrf={p.csrf} allowLabel="Approve" username={p.username} />
    </Layout>,
  );
}

/** The end: approved, denied, or nothing decided (the code expired meanwhile, the sign-in failed). */
export function deviceDonePage(p: { outcome: 'approved' | 'denied' | 'failed'; message?: string }): string {
  const title =
    p.outcome === 'approved' ? 'Device approved' : p.outcome === 'denied' ? 'Device denied' : 'Not approved';
  const lead =
    p.outcome === 'approved'
      ? 'You can return to your device: it will finish signing in by itself.'
      : p.outcome === 'denied'
        ? 'The device was not given access. You can return to your device.'
        : (p.message ?? 'The device was not given access.');
  return renderPage(
    <Layout title={title}>
      <h1>{title}</h1>
      <p class="lead">{lead}</p>
      {p.outcome === 'failed' ? (
        <p>
          <a href="/device">Enter a code again</a>
        </p>
      ) : (
        <p class="small">You can close this window.</p>
      )}
    </Layout>,
  );
}
