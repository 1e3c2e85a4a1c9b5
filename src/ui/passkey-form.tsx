/**
 * The passkey part of a page: a form that posts the browser's WebAuthn response, hidden until
 * /assets/passkeys.js finds WebAuthn (without JavaScript the page is a password page as before).
 * The ceremony's options travel in a data attribute (escaped like any attribute), so no request
 * beyond the page is needed and the CSP can stay `default-src 'none'`.
 */
export interface PasskeyFormProps {
  action: string;
  csrf: string;
  /** PublicKeyCredentialRequestOptionsJSON or …CreationOptionsJSON. */
  options: unknown;
  /** `sign-in` also starts conditional mediation (autofill); `register` creates a credential. */
  mode: 'sign-in' | 'second' | 'register';
  nonce: string;
}

/** The scripts a page with a passkey form loads (our copy of @simplewebauthn/browser, then ours). */
export function passkeyScripts(p: PasskeyFormProps | undefined): {
  scriptNonce?: string;
  scripts?: string[];
} {
  return p ? { scriptNonce: p.nonce, scripts: ['/assets/webauthn.js', '/assets/passkeys.js'] } : {};
}

export function PasskeyForm(
  p: PasskeyFormProps & { label: string; secondary?: boolean; nameField?: boolean },
) {
  return (
    <form
      method="post"
      action={p.action}
      data-webauthn={p.mode}
      data-options={JSON.stringify(p.options)}
      hidden
      class="passkey"
    >
      <input type="hidden" name="csrf" value={p.csrf} />
      <input type="hidden" name="credential" value="" />
      {p.nameField ? (
        <>
          <label for="passkey-name">Name for this passkey</label>
          <input type="text" id="passkey-name" name="name" maxLength={64} placeholder="e.g. Work laptop" />
        </>
      ) : null}
      <button type="submit" class={p.secondary ? 'secondary' : undefined}>
        {p.label}
      </button>
      <p class="error passkey-status" role="alert" />
    </form>
  );
}
