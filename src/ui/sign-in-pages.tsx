/** The sign-in steps after the first factor: second factor, enrolment, recovery codes. */
import { Layout, renderPage } from './layout.js';
import { PasskeyForm, type PasskeyFormProps, passkeyScripts } from './passkey-form.js';

interface StepBase {
  csrf: string;
  clientName: string;
  username: string;
  cancelAction: string;
  error?: string;
}

function ErrorBox(p: { error: string | undefined; id: string }) {
  return p.error ? (
    <p class="error" role="alert" id={p.id}>
      {p.error}
    </p>
  ) : null;
}

function CancelForm(p: { action: string; csrf: string }) {
  return (
    <form method="post" action={p.action}>
      <input type="hidden" name="csrf" value={p.csrf} />
      <button type="submit" class="secondary">
        Cancel
      </button>
    </form>
  );
}

/** A one-time code field (six digits, or a recovery code on the recovery form). */
function CodeForm(p: {
  action: string;
  csrf: string;
  label: string;
  id: string;
  recovery?: boolean;
  errorId?: string;
  fields?: Record<string, string>;
}) {
  return (
    <form method="post" action={p.action}>
      <input type="hidden" name="csrf" value={p.csrf} />
      {Object.entries(p.fields ?? {}).map(([k, v]) => (
        <input type="hidden" name={k} value={v} key={k} />
      ))}
      <label for={p.id}>{p.label}</label>
      <input
        type="text"
        id={p.id}
        name="code"
        class="code"
        required
        autocomplete={p.recovery ? 'off' : 'one-time-code'}
        inputMode={p.recovery ? 'text' : 'numeric'}
        maxLength={p.recovery ? 32 : 10}
        spellcheck={false}
        autocapitalize="none"
        autofocus={!p.recovery}
        aria-describedby={p.errorId}
      />
      <button type="submit" class={p.recovery ? 'secondary' : undefined}>
        {p.recovery ? 'Use recovery code' : 'Verify'}
      </button>
    </form>
  );
}

export function secondFactorPage(
  p: StepBase & {
    /** Phishing-resistant asked: only a passkey will do. */
    passkeyOnly: boolean;
    totpAction?: string;
    recoveryAction?: string;
    passkey?: PasskeyFormProps;
  },
): string {
  const errorId = p.error ? 'factor-error' : undefined;
  return renderPage(
    <Layout title="Verify it's you" {...passkeyScripts(p.passkey)}>
      <h1>{p.passkeyOnly ? 'Use your passkey' : "Verify it's you"}</h1>
      <p class="lead">
        Signing in to <strong>{p.clientName}</strong> as <strong>{p.username}</strong> needs{' '}
        {p.passkeyOnly ? 'a passkey' : 'a second step'}.
      </p>
      <ErrorBox error={p.error} id="factor-error" />
      {p.passkey ? <PasskeyForm {...p.passkey} label="Use a passkey" /> : null}
      {p.passkey && p.totpAction ? (
        <p class="divider" hidden data-webauthn-only>
          or
        </p>
      ) : null}
      {p.passkeyOnly && p.passkey ? (
        <noscript>
          <p class="warning">A passkey needs JavaScript in this browser.</p>
        </noscript>
      ) : null}
      {p.totpAction ? (
        <CodeForm
          action={p.totpAction}
          csrf={p.csrf}
          label="Code from your authenticator app"
          id="code"
          {...(errorId ? { errorId } : {})}
        />
      ) : null}
      {p.recoveryAction ? (
        <details>
          <summary>Lost your device? Use a recovery code</summary>
          <CodeForm
            action={p.recoveryAction}
            csrf={p.csrf}
            label="Recovery code"
            id="recovery-code"
            recovery
          />
        </details>
      ) : null}
      <CancelForm action={p.cancelAction} csrf={p.csrf} />
    </Layout>,
  );
}

export function enrolPage(
  p: StepBase & {
    kinds: ('totp' | 'passkey')[];
    skippable: boolean;
    totpAction: string;
    skipAction: string;
    passkey?: PasskeyFormProps;
  },
): string {
  const suggestion = p.skippable;
  return renderPage(
    <Layout title={suggestion ? 'Add a passkey' : 'Set up a second step'} {...passkeyScripts(p.passkey)}>
      <h1>{suggestion ? 'Add a passkey' : 'Protect your account'}</h1>
      <p class="lead">
        {suggestion
          ? 'Add a passkey so you can skip the password next time.'
          : `Signing in to ${p.clientName} as ${p.username} needs a second step. Set one up now.`}
      </p>
      <ErrorBox error={p.error} id="enrol-error" />
      {p.kinds.includes('passkey') && p.passkey ? (
        <PasskeyForm {...p.passkey} label="Add a passkey" nameField />
      ) : null}
      {p.kinds.includes('totp') ? (
        <form method="post" action={p.totpAction}>
          <input type="hidden" name="csrf" value={p.csrf} />
          <button type="submit" class={p.kinds.includes('passkey') ? 'secondary' : undefined}>
            Use an authenticator app
          </button>
        </form>
      ) : null}
      {p.skippable ? (
        <form method="post" action={p.skipAction}>
          <input type="hidden" name="csrf" value={p.csrf} />
          <button type="submit" class="secondary">
            Not now
          </button>
        </form>
      ) : (
        <CancelForm action={p.cancelAction} csrf={p.csrf} />
      )}
    </Layout>,
  );
}

/** TOTP enrolment: the QR code (our own SVG), the secret as text, and the first code. */
export function totpSetupPage(p: {
  title: string;
  action: string;
  csrf: string;
  factorId: string;
  secret: string;
  qrSvg: string;
  error?: string;
  cancel?: { action: string; label: string };
}): string {
  const groups = p.secret.match(/.{1,4}/g)?.join(' ') ?? p.secret;
  return renderPage(
    <Layout title={p.title}>
      <h1>{p.title}</h1>
      <p class="lead">Scan the code with your authenticator app, then enter the six digits it shows.</p>
      <ErrorBox error={p.error} id="totp-error" />
      {/* The SVG is drawn by qr-svg.ts from the module matrix only: no text of ours inside. */}
      <div class="qr" dangerouslySetInnerHTML={{ __html: p.qrSvg }} />
      <p class="small">
        Cannot scan? Enter this key: <code id="totp-secret">{groups}</code>
      </p>
      <CodeForm
        action={p.action}
        csrf={p.csrf}
        label="Six-digit code"
        id="code"
        fields={{ factor: p.factorId }}
        {...(p.error ? { errorId: 'totp-error' } : {})}
      />
      {p.cancel ? (
        <form method="post" action={p.cancel.action}>
          <input type="hidden" name="csrf" value={p.csrf} />
          <button type="submit" class="secondary">
            {p.cancel.label}
          </button>
        </form>
      ) : null}
    </Layout>,
  );
}

/** The recovery codes, shown once, with the way on. */
export function recoveryCodesPage(p: {
  codes: string[];
  continueAction: string;
  csrf: string;
  continueLabel: string;
}): string {
  return renderPage(
    <Layout title="Save your recovery codes">
      <h1>Save your recovery codes</h1>
      <p class="lead">
        Each code signs you in once if you lose your device. Keep them somewhere safe: they are shown only
        now.
      </p>
      <ol class="codes" id="recovery-codes">
        {p.codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <form method="post" action={p.continueAction}>
        <input type="hidden" name="csrf" value={p.csrf} />
        <button type="submit">{p.continueLabel}</button>
      </form>
    </Layout>,
  );
}

/** A short message with a way on (a recovery code used: how many are left). */
export function noticePage(p: {
  title: string;
  message: string;
  action: string;
  csrf: string;
  label: string;
}): string {
  return renderPage(
    <Layout title={p.title}>
      <h1>{p.title}</h1>
      <p class="notice" role="status">
        {p.message}
      </p>
      <form method="post" action={p.action}>
        <input type="hidden" name="csrf" value={p.csrf} />
        <button type="submit">{p.label}</button>
      </form>
    </Layout>,
  );
}
