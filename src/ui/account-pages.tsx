/**
 * The account page and its own small pages (a new passkey, recovery codes, messages). Every form
 * posts with the session's CSRF token; times are shown in UTC (the server does not know the
 * person's time zone, and the page runs no script for it).
 */
import type { ComponentChildren } from 'preact';
import { SCOPE_DESCRIPTIONS } from '../protocol/scopes.js';
import { Layout, renderPage } from './layout.js';
import type { ConsentApiView } from './pages.js';
import { PasskeyForm, type PasskeyFormProps, passkeyScripts } from './passkey-form.js';

export type AccountSection = 'passkeys' | 'totp' | 'recovery' | 'password' | 'sessions' | 'applications';

export interface AccountPasskeyRow {
  id: string;
  name: string;
  /** May be synced across devices (a `swk`), else bound to one device. */
  synced: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AccountTotpRow {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AccountSessionRow {
  /** What the page names the session by (never its stored id). */
  handle: string;
  current: boolean;
  ip?: string;
  userAgent?: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface AccountApplication {
  clientId: string;
  name: string;
  /** What the person consented to (none: the application asks for no consent). */
  scopes: string[];
  /** The APIs consented to, each with its scopes in words. */
  apis?: ConsentApiView[];
  consentedAt?: number;
  /** Its latest grant not revoked. */
  lastUsedAt?: number;
}

export interface AccountPageProps {
  csrf: string;
  username: string;
  name: string | null;
  email: string | null;
  /** Signed in within the last five minutes: changes go ahead without signing in again. */
  recent: boolean;
  notice?: string;
  error?: { section: AccountSection; message: string };
  /** Multi-factor sign-in is required of this person: the last factor cannot be removed. */
  mustKeepFactor: boolean;
  passkeys: AccountPasskeyRow[];
  totp: AccountTotpRow[];
  /** An authenticator app's set-up waits for its first code. */
  totpPending: boolean;
  recovery: { left: number; total: number; createdAt: number } | undefined;
  sessions: AccountSessionRow[];
  applications: AccountApplication[];
}

const TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

export const formatTime = (ms: number): string => `${TIME.format(ms)} UTC`;

function Time(p: { at: number }) {
  return <time dateTime={new Date(p.at).toISOString()}>{formatTime(p.at)}</time>;
}

/** A short name for a User-Agent ("Firefox on Linux"); the header itself is shown beside it. */
export function describeDevice(ua: string | undefined): string {
  if (!ua) return 'Unknown device';
  const browser = /Edg(e|A|iOS)?\//.test(ua)
    ? 'Edge'
    : /OPR\/|Opera/.test(ua)
      ? 'Opera'
      : /Firefox\/|FxiOS\//.test(ua)
        ? 'Firefox'
        : /Chrome\/|Chromium\/|CriOS\//.test(ua)
          ? 'Chrome'
          : /Version\/[\d.]+.*Safari\//.test(ua)
            ? 'Safari'
            : undefined;
  const os = /iPhone|iPad|iPod/.test(ua)
    ? 'iOS'
    : /Android/.test(ua)
      ? 'Android'
      : /Windows/.test(ua)
        ? 'Windows'
        : /CrOS/.test(ua)
          ? 'ChromeOS'
          : /Macintosh|Mac OS X/.test(ua)
            ? 'macOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : undefined;
  if (browser && os) return `${browser} on ${os}`;
  if (browser ?? os) return (browser ?? os) as string;
  const first = ua.split(/[\s/]/)[0] ?? '';
  return first ? `${first.slice(0, 40)} (not a browser we know)` : 'Unknown device';
}

function Csrf(p: { csrf: string }) {
  return <input type="hidden" name="csrf" value={p.csrf} />;
}

/** One button that posts. */
function PostButton(p: {
  action: string;
  csrf: string;
  label: string;
  class?: string;
  fields?: Record<string, string>;
  /** What a screen reader says for the button, when its label alone is ambiguous in a list. */
  ariaLabel?: string;
}) {
  return (
    <form method="post" action={p.action}>
      <Csrf csrf={p.csrf} />
      {Object.entries(p.fields ?? {}).map(([k, v]) => (
        <input type="hidden" name={k} value={v} key={k} />
      ))}
      <button type="submit" class={p.class} aria-label={p.ariaLabel}>
        {p.label}
      </button>
    </form>
  );
}

function Section(p: {
  id: AccountSection;
  title: string;
  error: AccountPageProps['error'];
  children: ComponentChildren;
}) {
  const error = p.error?.section === p.id ? p.error.message : undefined;
  return (
    <section class="account" id={p.id} aria-labelledby={`${p.id}-title`}>
      <h2 id={`${p.id}-title`}>{p.title}</h2>
      {error ? (
        <p class="error" role="alert" id={`${p.id}-error`}>
          {error}
        </p>
      ) : null}
      {p.children}
    </section>
  );
}

function Used(p: { createdAt: number; lastUsedAt: number | null; prefix?: string }) {
  return (
    <span class="meta">
      {p.prefix ? `${p.prefix} · ` : ''}Added <Time at={p.createdAt} /> ·{' '}
      {p.lastUsedAt === null ? (
        'never used'
      ) : (
        <>
          last used <Time at={p.lastUsedAt} />
        </>
      )}
    </span>
  );
}

function Passkeys(p: AccountPageProps) {
  return (
    <Section id="passkeys" title="Passkeys" error={p.error}>
      <p class="small-block">Sign in with your fingerprint, face, screen lock or a security key.</p>
      {p.passkeys.length === 0 ? (
        <p class="empty">No passkeys yet.</p>
      ) : (
        <ul class="items">
          {p.passkeys.map((k) => (
            <li key={k.id} id={`passkey-${k.id}`}>
              <div>
                <strong>{k.name}</strong>
                <Used
                  createdAt={k.createdAt}
                  lastUsedAt={k.lastUsedAt}
                  prefix={k.synced ? 'Synced passkey' : 'Device-bound passkey'}
                />
              </div>
              <div class="actions">
                <form method="post" action={`/account/passkeys/${k.id}/rename`} class="inline">
                  <Csrf csrf={p.csrf} />
                  <input
                    type="text"
                    name="name"
                    maxLength={64}
                    required
                    value={k.name}
                    aria-label={`New name for ${k.name}`}
                  />
                  <button type="submit" class="link">
                    Rename
                  </button>
                </form>
                <PostButton
                  action={`/account/passkeys/${k.id}/remove`}
                  csrf={p.csrf}
                  label="Remove"
                  class="link danger"
                  ariaLabel={`Remove ${k.name}`}
                />
              </div>
            </li>
          ))}
        </ul>
      )}
      <a class="button inline" href="/account/passkeys/new">
        Add a passkey
      </a>
    </Section>
  );
}

function Totp(p: AccountPageProps) {
  return (
    <Section id="totp" title="Authenticator app" error={p.error}>
      <p class="small-block">Six-digit codes from an app on your phone.</p>
      {p.totp.length === 0 ? (
        <p class="empty">No authenticator app set up.</p>
      ) : (
        <ul class="items">
          {p.totp.map((t) => (
            <li key={t.id} id={`totp-${t.id}`}>
              <div>
                <strong>{t.name}</strong>
                <Used createdAt={t.createdAt} lastUsedAt={t.lastUsedAt} />
              </div>
              <div class="actions">
                <PostButton
                  action={`/account/totp/${t.id}/remove`}
                  csrf={p.csrf}
                  label="Remove"
                  class="link danger"
                  ariaLabel={`Remove ${t.name}`}
                />
              </div>
            </li>
          ))}
        </ul>
      )}
      {p.totpPending ? (
        <p class="notice">
          A set-up is waiting for its first code. <a href="/account/totp">Continue the set-up</a>
        </p>
      ) : null}
      <PostButton
        action="/account/totp"
        csrf={p.csrf}
        label={p.totp.length === 0 ? 'Set up an authenticator app' : 'Add another authenticator app'}
        class="inline"
      />
    </Section>
  );
}

function Recovery(p: AccountPageProps) {
  const hasFactor = p.passkeys.length + p.totp.length > 0;
  return (
    <Section id="recovery" title="Recovery codes" error={p.error}>
      {p.recovery ? (
        <p>
          <strong>
            {p.recovery.left} of {p.recovery.total}
          </strong>{' '}
          codes left{' '}
          <span class="meta">
            Made <Time at={p.recovery.createdAt} />
          </span>
        </p>
      ) : (
        <p class="empty">
          {hasFactor
            ? 'You have no recovery codes left.'
            : 'Recovery codes come with your first passkey or authenticator app.'}
        </p>
      )}
      {hasFactor ? (
        <>
          <p class="small-block">Making new codes stops the old ones from working.</p>
          <PostButton
            action="/account/recovery-codes"
            csrf={p.csrf}
            label="Make new recovery codes"
            class="inline"
          />
        </>
      ) : null}
    </Section>
  );
}

function Password(p: AccountPageProps) {
  const describedBy = p.error?.section === 'password' ? 'password-error' : undefined;
  return (
    <Section id="password" title="Password" error={p.error}>
      <form method="post" action="/account/password" class="narrow">
        <Csrf csrf={p.csrf} />
        {/* The username, for password managers (WCAG/HTML autocomplete). */}
        <input type="text" name="username" value={p.username} autocomplete="username" hidden readOnly />
        <label for="current-password">Current password</label>
        <input
          type="password"
          id="current-password"
          name="current"
          autocomplete="current-password"
          required
          maxLength={1024}
          aria-describedby={describedBy}
        />
        <label for="new-password">New password</label>
        <input
          type="password"
          id="new-password"
          name="password"
          autocomplete="new-password"
          required
          minLength={8}
          maxLength={1024}
          aria-describedby="new-password-hint"
        />
        <span class="small-block" id="new-password-hint">
          At least 8 characters. Your other sessions will be signed out.
        </span>
        <label for="confirm-password">New password again</label>
        <input
          type="password"
          id="confirm-password"
          name="confirm"
          autocomplete="new-password"
          required
          maxLength={1024}
        />
        <button type="submit" class="inline">
          Change password
        </button>
      </form>
    </Section>
  );
}

function Sessions(p: AccountPageProps) {
  const others = p.sessions.filter((s) => !s.current).length;
  return (
    <Section id="sessions" title="Where you are signed in" error={p.error}>
      <ul class="items">
        {p.sessions.map((s) => (
          <li key={s.handle} id={`session-${s.handle}`}>
            <div>
              <strong>{describeDevice(s.userAgent)}</strong>
              {s.current ? <span class="tag">This device</span> : null}
              <span class="meta">
                {s.ip ? `IP ${s.ip} · ` : ''}Signed in <Time at={s.createdAt} /> · last active{' '}
                <Time at={s.lastSeenAt} />
              </span>
              {s.userAgent ? <span class="meta ua">{s.userAgent}</span> : null}
            </div>
            <div class="actions">
              {s.current ? (
                <PostButton action="/account/sign-out" csrf={p.csrf} label="Sign out" class="link" />
              ) : (
                <PostButton
                  action={`/account/sessions/${s.handle}/end`}
                  csrf={p.csrf}
                  label="Sign out"
                  class="link danger"
                  ariaLabel={`Sign out ${describeDevice(s.userAgent)}, last active ${formatTime(s.lastSeenAt)}`}
                />
              )}
            </div>
          </li>
        ))}
      </ul>
      {others > 0 ? (
        <PostButton
          action="/account/sessions/end-others"
          csrf={p.csrf}
          label={`Sign out all other sessions (${others})`}
          class="inline secondary"
        />
      ) : (
        <p class="small-block">You are not signed in anywhere else.</p>
      )}
    </Section>
  );
}

function Applications(p: AccountPageProps) {
  return (
    <Section id="applications" title="Applications with access" error={p.error}>
      {p.applications.length === 0 ? (
        <p class="empty">No application has access to your account.</p>
      ) : (
        <ul class="items">
          {p.applications.map((app) => {
            const described = app.scopes.flatMap((s) => SCOPE_DESCRIPTIONS[s] ?? []);
            return (
              <li key={app.clientId}>
                <div>
                  <strong>{app.name}</strong>
                  {described.length > 0 ? <span class="meta">Can: {described.join('; ')}</span> : null}
                  {(app.apis ?? []).map((api) => (
                    <span class="meta" key={api.identifier}>
                      {api.name}
                      {api.scopes.length > 0 ? `: ${api.scopes.map((sc) => sc.description).join('; ')}` : ''}
                    </span>
                  ))}
                  <span class="meta">
                    {app.consentedAt !== undefined ? (
                      <>
                        Allowed <Time at={app.consentedAt} />
                      </>
                    ) : null}
                    {app.consentedAt !== undefined && app.lastUsedAt !== undefined ? ' · ' : null}
                    {app.lastUsedAt !== undefined ? (
                      <>
                        last signed in <Time at={app.lastUsedAt} />
                      </>
                    ) : null}
                  </span>
                </div>
                <div class="actions">
                  <PostButton
                    action="/account/applications/revoke"
                    csrf={p.csrf}
                    label="Revoke access"
                    class="link danger"
                    fields={{ client: app.clientId }}
                    ariaLabel={`Revoke the access of ${app.name}`}
                  />
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Section>
  );
}

export function accountPage(p: AccountPageProps): string {
  const who = [p.name, p.email].filter((x): x is string => Boolean(x)).join(' · ');
  return renderPage(
    <Layout title="Your account" wide>
      <div class="title-row">
        <h1>Your account</h1>
        <PostButton action="/account/sign-out" csrf={p.csrf} label="Sign out" class="link" />
      </div>
      <p class="lead">
        Signed in as <strong>{p.username}</strong>
        {who ? ` (${who})` : ''}
      </p>
      {p.notice ? (
        <p class="notice" role="status">
          {p.notice}
        </p>
      ) : null}
      {p.recent ? null : (
        <p class="small-block">
          You signed in more than five minutes ago: to make a change, you will be asked to sign in again.
        </p>
      )}
      {p.mustKeepFactor ? (
        <p class="small-block">
          Your account must keep a passkey or an authenticator app: the last one cannot be removed.
        </p>
      ) : null}
      <Passkeys {...p} />
      <Totp {...p} />
      <Recovery {...p} />
      <Password {...p} />
      <Sessions {...p} />
      <Applications {...p} />
    </Layout>,
  );
}

/** The page that creates a passkey (the registration ceremony runs in /assets/passkeys.js). */
export function newPasskeyPage(p: { passkey: PasskeyFormProps; rpId: string; error?: string }): string {
  return renderPage(
    <Layout title="Add a passkey" {...passkeyScripts(p.passkey)}>
      <h1>Add a passkey</h1>
      <p class="lead">
        Your device will ask you to create a passkey for <strong>{p.rpId}</strong>, with your fingerprint,
        face, screen lock or a security key.
      </p>
      {p.error ? (
        <p class="error" role="alert">
          {p.error}
        </p>
      ) : null}
      <PasskeyForm {...p.passkey} label="Create the passkey" nameField />
      <noscript>
        <p class="warning">Creating a passkey needs JavaScript in this browser.</p>
      </noscript>
      <p class="small">
        <a href="/account">Back to your account</a>
      </p>
    </Layout>,
  );
}

/** New recovery codes, shown this once. */
export function accountRecoveryCodesPage(p: { codes: string[]; first: boolean }): string {
  return renderPage(
    <Layout title="Save your recovery codes">
      <h1>Save your recovery codes</h1>
      <p class="lead">
        {p.first ? 'Your account now has a second factor. ' : 'Your old recovery codes no longer work. '}
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
      <a class="button block" href="/account">
        I saved them, back to my account
      </a>
    </Layout>,
  );
}

/** A message with the way on (a refused change, signed out, a sign-in that did not finish). */
export function accountMessagePage(p: {
  title: string;
  message: string;
  link: { href: string; label: string };
}): string {
  return renderPage(
    <Layout title={p.title}>
      <h1>{p.title}</h1>
      <p class="lead">{p.message}</p>
      <a class="button block" href={p.link.href}>
        {p.link.label}
      </a>
    </Layout>,
  );
}
