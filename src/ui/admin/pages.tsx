/**
 * The admin console's pages, server-rendered with preact (escaping is preact's). Plain forms
 * and links only: everything works without JavaScript, and no third-party resources.
 */
import type { ComponentChildren } from 'preact';
import type { FactorType, UserFactor } from '../../admin/user-factors.js';
import { formatDuration } from '../../duration.js';
import type { Api, AuditEvent, Client, ClientType, MfaPolicy, User } from '../../storage/types.js';
import { Head, renderPage } from '../layout.js';
import { CredentialFields } from '../pages.js';

export interface Chrome {
  csrf: string;
  username: string;
  section: 'home' | 'applications' | 'apis' | 'users' | 'audit';
}

const TYPE_LABEL: Record<ClientType, string> = {
  native: 'Native',
  spa: 'Single-Page App',
  web: 'Web',
  service: 'Service',
};

const TYPE_HELP: Record<ClientType, string> = {
  native:
    'Desktop or mobile app. Public client: Authorization Code with PKCE, loopback or custom-scheme redirects.',
  spa: 'JavaScript app in the browser. Public client: Authorization Code with PKCE, https redirects.',
  web: 'Server-side web app. Confidential client with a client secret; Authorization Code with PKCE.',
  service: 'Machine-to-machine. Confidential client using client credentials; no users, no redirects.',
};

function Shell(props: { title: string; chrome?: Chrome; children: ComponentChildren }) {
  const c = props.chrome;
  const nav = (href: string, label: string, section: Chrome['section']) => (
    <a href={href} aria-current={c?.section === section ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <html lang="en">
      <Head title={`${props.title} · Latchkey admin`} />
      <body class="admin">
        <header class="admin-bar">
          <strong class="admin-brand">Latchkey admin</strong>
          {c ? (
            <nav aria-label="Admin sections">
              {nav('/admin', 'Overview', 'home')}
              {nav('/admin/applications', 'Applications', 'applications')}
              {nav('/admin/apis', 'APIs', 'apis')}
              {nav('/admin/users', 'Users', 'users')}
              {nav('/admin/audit', 'Audit log', 'audit')}
            </nav>
          ) : null}
          {c ? (
            <form method="post" action="/admin/logout" class="signout">
              <input type="hidden" name="csrf" value={c.csrf} />
              <span class="small-inline">Signed in as {c.username}</span>
              <button type="submit" class="link">
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main class="admin">{props.children}</main>
      </body>
    </html>
  );
}

function ErrorBox(props: { error?: string | undefined }) {
  return props.error ? (
    <p class="error" role="alert" id="form-error">
      {props.error}
    </p>
  ) : null;
}

const Csrf = (props: { chrome: Chrome }) => <input type="hidden" name="csrf" value={props.chrome.csrf} />;

const time = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

export function adminLoginPage(p: { csrf: string; username?: string; error?: string }): string {
  return renderPage(
    <Shell title="Sign in">
      <h1>Administrator sign-in</h1>
      <ErrorBox error={p.error} />
      <form method="post" action="/admin/login" class="narrow">
        <input type="hidden" name="csrf" value={p.csrf} />
        <CredentialFields username={p.username} errorId={undefined} />
        <button type="submit">Sign in</button>
      </form>
    </Shell>,
  );
}

export function adminMessagePage(p: {
  title: string;
  message: string;
  chrome?: Chrome;
  status?: string;
}): string {
  return renderPage(
    <Shell title={p.title} {...(p.chrome ? { chrome: p.chrome } : {})}>
      <h1>{p.title}</h1>
      <p class="lead">{p.message}</p>
      {p.chrome ? null : (
        <p>
          <a href="/admin/login">Sign in as an administrator</a>
        </p>
      )}
    </Shell>,
  );
}

export function overviewPage(p: { chrome: Chrome; clients: number; apis: number; users: number }): string {
  return renderPage(
    <Shell title="Overview" chrome={p.chrome}>
      <h1>Overview</h1>
      <ul class="cards">
        <li>
          <a href="/admin/applications">
            <strong>{p.clients}</strong> application{p.clients === 1 ? '' : 's'}
          </a>
        </li>
        <li>
          <a href="/admin/apis">
            <strong>{p.apis}</strong> API{p.apis === 1 ? '' : 's'}
          </a>
        </li>
        <li>
          <a href="/admin/users">
            <strong>{p.users}</strong> user{p.users === 1 ? '' : 's'}
          </a>
        </li>
        <li>
          <a href="/admin/audit">Audit log</a>
        </li>
      </ul>
      <p class="small">
        Scripts can call the admin API with this session by sending the header{' '}
        <code>X-Latchkey-CSRF: {p.chrome.csrf}</code>.
      </p>
    </Shell>,
  );
}

function Notice(props: { text: string | undefined }) {
  return props.text ? (
    <p class="notice" role="status">
      {props.text}
    </p>
  ) : null;
}

/** The heading of a list page: title, an "Add …" button, and the last action's notice. */
function ListHeader(props: { title: string; addHref: string; addLabel: string; notice: string | undefined }) {
  return (
    <>
      <div class="title-row">
        <h1>{props.title}</h1>
        <a class="button" href={props.addHref}>
          {props.addLabel}
        </a>
      </div>
      <Notice text={props.notice} />
    </>
  );
}

export function applicationsPage(p: { chrome: Chrome; clients: Client[]; notice?: string }): string {
  return renderPage(
    <Shell title="Applications" chrome={p.chrome}>
      <ListHeader
        title="Applications"
        addHref="/admin/applications/new"
        addLabel="Add Application"
        notice={p.notice}
      />
      {p.clients.length === 0 ? (
        <p class="lead">No applications yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Client ID</th>
            </tr>
          </thead>
          <tbody>
            {p.clients.map((c) => (
              <tr key={c.clientId}>
                <td>
                  <a href={`/admin/applications/${encodeURIComponent(c.clientId)}`}>{c.name}</a>
                  <SelfRegisteredTag client={c} />
                </td>
                <td>{TYPE_LABEL[c.type]}</td>
                <td>
                  <code>{c.clientId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Shell>,
  );
}

export interface NewApplicationForm {
  type?: string;
  name?: string;
  redirectUris?: string;
  postLogoutRedirectUris?: string;
  consent?: string;
  mfa?: string;
}

export function newApplicationPage(p: {
  chrome: Chrome;
  form: NewApplicationForm;
  /** The server's LATCHKEY_MFA, which "inherit" follows. */
  mfaDefault: MfaPolicy;
  error?: string;
}): string {
  const f = p.form;
  return renderPage(
    <Shell title="Add Application" chrome={p.chrome}>
      <h1>Add Application</h1>
      <ErrorBox error={p.error} />
      <form method="post" action="/admin/applications">
        <Csrf chrome={p.chrome} />
        <fieldset class="types">
          <legend>Platform</legend>
          {(['native', 'spa', 'web', 'service'] as const).map((t) => (
            <label class="choice" key={t}>
              <input type="radio" name="type" value={t} checked={(f.type ?? 'native') === t} required />
              <span>
                <strong>{TYPE_LABEL[t]}</strong>
                <span class="small-block">{TYPE_HELP[t]}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <label for="name">Name</label>
        <input type="text" id="name" name="name" required maxLength={200} value={f.name ?? ''} />
        <label for="redirect_uris">Sign-in redirect URIs (one per line; none for Service)</label>
        <textarea id="redirect_uris" name="redirect_uris" rows={3} placeholder="http://127.0.0.1/callback">
          {f.redirectUris ?? ''}
        </textarea>
        <label for="post_logout_redirect_uris">Sign-out redirect URIs (one per line, optional)</label>
        <textarea id="post_logout_redirect_uris" name="post_logout_redirect_uris" rows={2}>
          {f.postLogoutRedirectUris ?? ''}
        </textarea>
        <label for="consent">User consent</label>
        <select id="consent" name="consent">
          <option value="none" selected={(f.consent ?? 'none') === 'none'}>
            Not asked (first-party application)
          </option>
          <option value="required" selected={f.consent === 'required'}>
            Required (ask the user)
          </option>
        </select>
        <MfaField value={f.mfa ?? 'inherit'} serverDefault={p.mfaDefault} />
        <p class="small">Service applications sign no one in: leave the second factor on Inherit.</p>
        <button type="submit">Create application</button>
      </form>
    </Shell>,
  );
}

const REGISTRATION_LABEL = {
  dynamic: 'Self-registered (RFC 7591): third party, consent always asked',
  metadata_document: 'Client ID metadata document: third party, consent always asked',
} as const;

/** A tag on an application that registered itself: nobody here vetted it. */
function SelfRegisteredTag(props: { client: Client }) {
  const r = props.client.registration;
  return r ? (
    <span class="tag" title={REGISTRATION_LABEL[r]}>
      third party
    </span>
  ) : null;
}

function ClientSummary(props: { client: Client }) {
  const c = props.client;
  return (
    <dl class="facts">
      {c.registration ? (
        <>
          <dt>Registered</dt>
          <dd id="client-registration">{REGISTRATION_LABEL[c.registration]}</dd>
        </>
      ) : null}
      <dt>Client ID</dt>
      <dd>
        <code id="client-id">{c.clientId}</code>
      </dd>
      <dt>Type</dt>
      <dd>{TYPE_LABEL[c.type]}</dd>
      <dt>Client authentication</dt>
      <dd>
        <code>{c.tokenEndpointAuthMethod}</code>
      </dd>
      <dt>Grant types</dt>
      <dd>{c.grantTypes.join(', ')}</dd>
    </dl>
  );
}

function SecretOnce(props: { secret: string }) {
  return (
    <div class="secret">
      <p class="warning" role="alert">
        Copy the client secret now. It is shown only once and cannot be retrieved later; if it is lost, rotate
        it.
      </p>
      <label for="client-secret">Client secret</label>
      <input type="text" id="client-secret" readOnly value={props.secret} />
    </div>
  );
}

export function applicationCreatedPage(p: { chrome: Chrome; client: Client; secret?: string }): string {
  return renderPage(
    <Shell title="Application created" chrome={p.chrome}>
      <h1>{p.client.name} was created</h1>
      <ClientSummary client={p.client} />
      {p.secret !== undefined ? <SecretOnce secret={p.secret} /> : null}
      <p>
        <a href={`/admin/applications/${encodeURIComponent(p.client.clientId)}`}>Application settings</a>
        {' · '}
        <a href="/admin/applications">All applications</a>
      </p>
    </Shell>,
  );
}

export function secretRotatedPage(p: { chrome: Chrome; client: Client; secret: string }): string {
  return renderPage(
    <Shell title="New client secret" chrome={p.chrome}>
      <h1>New client secret for {p.client.name}</h1>
      <p class="lead">The previous secret no longer works.</p>
      <SecretOnce secret={p.secret} />
      <p>
        <a href={`/admin/applications/${encodeURIComponent(p.client.clientId)}`}>Back to the application</a>
      </p>
    </Shell>,
  );
}

export interface SettingsForm {
  name: string;
  redirectUris: string;
  postLogoutRedirectUris: string;
  consent: string;
  accessTokenTtl: string;
  refreshTokenTtl: string;
  refreshIdleTtl: string;
  refreshGrace: string;
  refreshTokens: string;
  /** `required` or `optional`. */
  par: string;
  /** token_endpoint_auth_method. */
  authMethod: string;
  /** The JWK Set as JSON text (empty: none). */
  jwks: string;
  jwksUri: string;
  /** `required` or `optional`. */
  dpop: string;
  /** `fapi2` or `none`. */
  profile: string;
  /** `inherit` (the server's LATCHKEY_MFA), `none`, `optional` or `required`. */
  mfa: string;
  /** RFC 8707: the APIs it may ask for, one a line: `IDENTIFIER` or `IDENTIFIER=scope,scope`. */
  allowedApis: string;
  /** RFC 8628: `on` or `off`. */
  deviceFlow: string;
}

export function settingsFormOf(c: Client): SettingsForm {
  return {
    name: c.name,
    redirectUris: c.redirectUris.join('\n'),
    postLogoutRedirectUris: c.postLogoutRedirectUris.join('\n'),
    consent: c.consent,
    accessTokenTtl: c.accessTokenTtl === null ? '' : String(c.accessTokenTtl),
    refreshTokenTtl: c.refreshTokenTtl === null ? '' : String(c.refreshTokenTtl),
    refreshIdleTtl: c.refreshIdleTtl === null ? '' : String(c.refreshIdleTtl),
    refreshGrace: c.refreshGrace === null ? '' : String(c.refreshGrace),
    refreshTokens: c.grantTypes.includes('refresh_token') ? 'on' : 'off',
    par: c.requirePushedAuthorizationRequests ? 'required' : 'optional',
    authMethod: c.tokenEndpointAuthMethod,
    jwks: c.jwks ? JSON.stringify(c.jwks, null, 2) : '',
    jwksUri: c.jwksUri ?? '',
    dpop: c.dpopBoundAccessTokens ? 'required' : 'optional',
    profile: c.profile ?? 'none',
    mfa: c.mfa ?? 'inherit',
    allowedApis: allowedApisText(c.allowedApis),
    deviceFlow: c.grantTypes.includes(DEVICE_GRANT) ? 'on' : 'off',
  };
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Allowed APIs one a line, as the CLI's --allow-api takes them (IDENTIFIER[=SCOPE,…]). */
const allowedApisText = (apis: Client['allowedApis']): string =>
  (apis ?? [])
    .map((a) => (a.scopes === null ? a.identifier : `${a.identifier}=${a.scopes.join(',')}`))
    .join('\n');

/** Which APIs the application may ask tokens for, and (native, web) the device flow. */
function AccessFields(props: { client: Client; form: SettingsForm }) {
  const f = props.form;
  const type = props.client.type;
  return (
    <>
      <label for="allowed_apis">APIs it may ask for besides the default one (one per line)</label>
      <textarea
        id="allowed_apis"
        name="allowed_apis"
        rows={2}
        placeholder="https://api.example.com=orders:read,orders:write"
        aria-describedby="allowed-apis-help"
      >
        {f.allowedApis}
      </textarea>
      <p class="small-block" id="allowed-apis-help">
        An API's identifier alone allows all of its scopes; after "=" only those listed (RFC 8707 resource).
      </p>
      {type === 'native' || type === 'web' ? (
        <>
          <label for="device_flow">Device flow (RFC 8628)</label>
          <select id="device_flow" name="device_flow">
            <option value="off" selected={f.deviceFlow === 'off'}>
              Off
            </option>
            <option value="on" selected={f.deviceFlow === 'on'}>
              On: sign in on another device with a user code
            </option>
          </select>
        </>
      ) : null}
    </>
  );
}

const MFA_LABEL: Record<MfaPolicy, string> = {
  none: 'None: never asked for a second factor',
  optional: 'Optional: asked of people who have a second factor',
  required: 'Required: every sign-in; people without one enrol on the spot',
};

/** The application's second-factor policy, or the server's (LATCHKEY_MFA). */
function MfaField(props: { value: string; serverDefault: MfaPolicy }) {
  return (
    <>
      <label for="mfa">Second factor at sign-in (MFA)</label>
      <select id="mfa" name="mfa">
        <option value="inherit" selected={props.value === 'inherit'}>
          Inherit server default (LATCHKEY_MFA: {props.serverDefault})
        </option>
        {(['none', 'optional', 'required'] as const).map((m) => (
          <option value={m} key={m} selected={props.value === m}>
            {MFA_LABEL[m]}
          </option>
        ))}
      </select>
    </>
  );
}

const CONFIDENTIAL_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
];

/**
 * How the application proves itself and binds its tokens: the client authentication method and
 * its keys (confidential applications), DPoP-bound tokens, the FAPI 2.0 profile.
 */
function SecurityFields(props: { form: SettingsForm; confidential: boolean }) {
  const f = props.form;
  return (
    <>
      {props.confidential ? (
        <>
          <label for="token_endpoint_auth_method">Client authentication (token endpoint)</label>
          <select id="token_endpoint_auth_method" name="token_endpoint_auth_method">
            {CONFIDENTIAL_METHODS.map((m) => (
              <option value={m} selected={f.authMethod === m}>
                {m}
              </option>
            ))}
          </select>
          <label for="jwks">Public keys for private_key_jwt: a JWK Set (JSON; empty = none)</label>
          <textarea id="jwks" name="jwks" rows={4}>
            {f.jwks}
          </textarea>
          <label for="jwks_uri">…or the https URL where the application publishes them</label>
          <input type="url" id="jwks_uri" name="jwks_uri" value={f.jwksUri} />
        </>
      ) : null}
      <label for="dpop">DPoP-bound tokens (RFC 9449)</label>
      <select id="dpop" name="dpop">
        <option value="optional" selected={f.dpop === 'optional'}>
          Optional: bound when the application sends a proof
        </option>
        <option value="required" selected={f.dpop === 'required'}>
          Required: every token request carries a DPoP proof
        </option>
      </select>
      {props.confidential ? (
        <>
          <label for="profile">Security profile</label>
          <select id="profile" name="profile">
            <option value="none" selected={f.profile === 'none'}>
              None
            </option>
            <option value="fapi2" selected={f.profile === 'fapi2'}>
              FAPI 2.0 (private_key_jwt, PAR, DPoP, https redirect URIs, no RS256)
            </option>
          </select>
        </>
      ) : null}
    </>
  );
}

/** The fields of an application that people sign in to: redirect URIs and consent. */
function SignInFields(props: { form: SettingsForm }) {
  const f = props.form;
  return (
    <>
      <label for="redirect_uris">Sign-in redirect URIs (one per line)</label>
      <textarea id="redirect_uris" name="redirect_uris" rows={3}>
        {f.redirectUris}
      </textarea>
      <label for="post_logout_redirect_uris">Sign-out redirect URIs (one per line)</label>
      <textarea id="post_logout_redirect_uris" name="post_logout_redirect_uris" rows={2}>
        {f.postLogoutRedirectUris}
      </textarea>
      <label for="consent">User consent</label>
      <select id="consent" name="consent">
        <option value="none" selected={f.consent === 'none'}>
          Not asked
        </option>
        <option value="required" selected={f.consent === 'required'}>
          Required
        </option>
      </select>
      <label for="par">Pushed authorization requests (RFC 9126)</label>
      <select id="par" name="par">
        <option value="optional" selected={f.par === 'optional'}>
          Optional
        </option>
        <option value="required" selected={f.par === 'required'}>
          Required: /authorize takes only a request_uri from /par
        </option>
      </select>
    </>
  );
}

/** The refresh-token fields, with the reuse grace in force (an empty field: the server's). */
function RefreshFields(props: { client: Client; form: SettingsForm; refreshGraceDefault: number }) {
  const f = props.form;
  const grace = props.client.refreshGrace ?? props.refreshGraceDefault;
  return (
    <>
      <label for="refresh_tokens">Refresh tokens</label>
      <select id="refresh_tokens" name="refresh_tokens">
        <option value="on" selected={f.refreshTokens === 'on'}>
          On (with offline_access)
        </option>
        <option value="off" selected={f.refreshTokens === 'off'}>
          Off
        </option>
      </select>
      <label for="refresh_token_ttl">Refresh token lifetime, seconds (empty = server default)</label>
      <input
        type="text"
        inputMode="numeric"
        id="refresh_token_ttl"
        name="refresh_token_ttl"
        value={f.refreshTokenTtl}
      />
      <label for="refresh_idle_ttl">Refresh token idle lifetime, seconds (empty = server default)</label>
      <input
        type="text"
        inputMode="numeric"
        id="refresh_idle_ttl"
        name="refresh_idle_ttl"
        value={f.refreshIdleTtl}
      />
      <label for="refresh_grace">
        Refresh reuse grace, seconds (0–60; 0 = off; empty = server default, {props.refreshGraceDefault} s)
      </label>
      <input type="text" inputMode="numeric" id="refresh_grace" name="refresh_grace" value={f.refreshGrace} />
      <p class="small" id="refresh-grace-effective">
        In force: {grace === 0 ? 'off' : `${grace} s`}
        {props.client.refreshGrace === null ? ' (server default)' : ''}. Within it, a second refresh with the
        same token (two tabs at once) gets the same new tokens instead of signing the person out.
      </p>
    </>
  );
}

export function applicationPage(p: {
  chrome: Chrome;
  client: Client;
  form: SettingsForm;
  /** The server's refresh grace (LATCHKEY_REFRESH_GRACE), which an empty field follows. */
  refreshGraceDefault: number;
  /** The server's LATCHKEY_MFA, which "inherit" follows. */
  mfaDefault: MfaPolicy;
  error?: string;
  notice?: string;
}): string {
  const c = p.client;
  const f = p.form;
  const base = `/admin/applications/${encodeURIComponent(c.clientId)}`;
  const confidential = c.type === 'web' || c.type === 'service';
  return renderPage(
    <Shell title={c.name} chrome={p.chrome}>
      <h1>{c.name}</h1>
      <ClientSummary client={c} />
      <Notice text={p.notice} />
      <h2>Settings</h2>
      <ErrorBox error={p.error} />
      <form method="post" action={base}>
        <Csrf chrome={p.chrome} />
        <label for="name">Name</label>
        <input type="text" id="name" name="name" required maxLength={200} value={f.name} />
        {c.type !== 'service' ? <SignInFields form={f} /> : null}
        {c.type !== 'service' ? <MfaField value={f.mfa} serverDefault={p.mfaDefault} /> : null}
        <label for="access_token_ttl">
          Access token lifetime, seconds (60–86400; empty = server default)
        </label>
        <input
          type="text"
          inputMode="numeric"
          id="access_token_ttl"
          name="access_token_ttl"
          value={f.accessTokenTtl}
        />
        {c.type !== 'service' ? (
          <RefreshFields client={c} form={f} refreshGraceDefault={p.refreshGraceDefault} />
        ) : null}
        <AccessFields client={c} form={f} />
        <SecurityFields form={f} confidential={confidential} />
        <button type="submit">Save settings</button>
      </form>
      {confidential ? (
        <>
          <h2>Client secret</h2>
          <form method="post" action={`${base}/rotate-secret`}>
            <Csrf chrome={p.chrome} />
            <p class="small">A new secret replaces the current one at once.</p>
            <button type="submit" class="secondary">
              Rotate secret
            </button>
          </form>
        </>
      ) : null}
      <h2>Danger zone</h2>
      <p>
        <a class="danger" href={`${base}/delete`}>
          Delete this application…
        </a>
      </p>
    </Shell>,
  );
}

export function deleteApplicationPage(p: { chrome: Chrome; client: Client }): string {
  const base = `/admin/applications/${encodeURIComponent(p.client.clientId)}`;
  return renderPage(
    <Shell title="Delete application" chrome={p.chrome}>
      <h1>Delete {p.client.name}?</h1>
      <p class="lead">
        Its users can no longer sign in to it and its refresh tokens stop working. This cannot be undone.
      </p>
      <form method="post" action={`${base}/delete`}>
        <Csrf chrome={p.chrome} />
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit" class="danger">
          Delete {p.client.name}
        </button>
      </form>
      <p>
        <a href={base}>Cancel</a>
      </p>
    </Shell>,
  );
}

/** The server's own settings, which an API without its own follows. */
export interface ApiServerDefaults {
  /** LATCHKEY_ACCESS_TOKEN_TTL, seconds. */
  accessTokenTtlSec: number;
  /** LATCHKEY_ACCESS_TOKEN_ALG. */
  accessTokenAlg: string;
}

const apiHref = (identifier: string) => `/admin/apis/${encodeURIComponent(identifier)}`;

const lifetime = (sec: number) => `${formatDuration(sec)} (${sec} s)`;

/** The access-token lifetime in force: the API's own or the server's. */
const apiTtlText = (api: Api, d: ApiServerDefaults) =>
  api.accessTokenTtl === null
    ? `Server default, ${lifetime(d.accessTokenTtlSec)}`
    : lifetime(api.accessTokenTtl);

const apiAlgText = (api: Api, d: ApiServerDefaults) =>
  api.tokenAlg === null ? `Server default, ${d.accessTokenAlg}` : api.tokenAlg;

const DefaultTag = () => <span class="tag">default</span>;

export function apisPage(p: {
  chrome: Chrome;
  apis: Api[];
  defaultIdentifier: string;
  serverDefaults: ApiServerDefaults;
  notice?: string;
}): string {
  return renderPage(
    <Shell title="APIs" chrome={p.chrome}>
      <ListHeader title="APIs" addHref="/admin/apis/new" addLabel="Add API" notice={p.notice} />
      <p class="lead">
        The resource servers access tokens are issued for; an API's identifier is its tokens' <code>aud</code>
        .
      </p>
      <table id="apis">
        <thead>
          <tr>
            <th>Name</th>
            <th>Identifier</th>
            <th>Scopes</th>
            <th>Access token lifetime</th>
            <th>Token algorithm</th>
            <th>Dynamic clients</th>
          </tr>
        </thead>
        <tbody>
          {p.apis.map((api) => (
            <tr key={api.identifier} data-identifier={api.identifier}>
              <td>
                <a href={apiHref(api.identifier)}>{api.name}</a>
                {api.identifier === p.defaultIdentifier ? <DefaultTag /> : null}
              </td>
              <td>
                <code>{api.identifier}</code>
              </td>
              <td>{api.scopes.length}</td>
              <td>{apiTtlText(api, p.serverDefaults)}</td>
              <td>{apiAlgText(api, p.serverDefaults)}</td>
              <td>{api.allowDynamicClients ? 'Allowed' : 'Not allowed'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Shell>,
  );
}

/** The API form as typed: every field as text, so a refused form comes back as it was. */
export interface ApiForm {
  identifier: string;
  name: string;
  /** One scope a line: `value=Description` (or the value alone). */
  scopes: string;
  /** Seconds or a duration such as 15m; empty: the server's. */
  accessTokenTtl: string;
  /** `RS256`, `ES256`, or empty: the server's. */
  tokenAlg: string;
  allowDynamicClients: boolean;
}

/** The scopes as the form's textarea shows them. */
export const scopesText = (api: Pick<Api, 'scopes'>): string =>
  api.scopes.map((s) => (s.description === '' ? s.value : `${s.value}=${s.description}`)).join('\n');

export function apiFormOf(api: Api): ApiForm {
  return {
    identifier: api.identifier,
    name: api.name,
    scopes: scopesText(api),
    accessTokenTtl: api.accessTokenTtl === null ? '' : String(api.accessTokenTtl),
    tokenAlg: api.tokenAlg ?? '',
    allowDynamicClients: api.allowDynamicClients,
  };
}

/** The fields the new-API form and the API page share: everything but the identifier. */
function ApiSettingsFields(props: { form: ApiForm; serverDefaults: ApiServerDefaults }) {
  const f = props.form;
  const d = props.serverDefaults;
  return (
    <>
      <label for="name">Name</label>
      <input type="text" id="name" name="name" required maxLength={200} value={f.name} />
      <label for="scopes">Scopes (one per line: value=Description)</label>
      <textarea
        id="scopes"
        name="scopes"
        rows={5}
        placeholder={'orders:read=Read your orders\norders:write=Place orders'}
        aria-describedby="scopes-help"
      >
        {f.scopes}
      </textarea>
      <p class="small-block" id="scopes-help">
        The description is what the consent page shows (empty: the value itself). The OpenID Connect scopes
        (openid, profile, email, offline_access) are the server's and cannot be an API's.
      </p>
      <label for="access_token_ttl">
        Access token lifetime, seconds or a duration such as 15m (60–86400; empty = server default,{' '}
        {d.accessTokenTtlSec} s)
      </label>
      <input
        type="text"
        inputMode="numeric"
        id="access_token_ttl"
        name="access_token_ttl"
        value={f.accessTokenTtl}
      />
      <label for="token_alg">Access token signing algorithm</label>
      <select id="token_alg" name="token_alg">
        <option value="" selected={f.tokenAlg === ''}>
          Server default (LATCHKEY_ACCESS_TOKEN_ALG: {d.accessTokenAlg})
        </option>
        <option value="RS256" selected={f.tokenAlg === 'RS256'}>
          RS256
        </option>
        <option value="ES256" selected={f.tokenAlg === 'ES256'}>
          ES256
        </option>
      </select>
      <input type="hidden" name="dynamic_clients_field" value="1" />
      <label class="choice">
        <input
          type="checkbox"
          id="allow_dynamic_clients"
          name="allow_dynamic_clients"
          value="yes"
          checked={f.allowDynamicClients}
        />
        <span>
          Allow dynamically registered clients
          <span class="small-block">
            Applications that registered themselves may ask for tokens for this API.
          </span>
        </span>
      </label>
    </>
  );
}

export function newApiPage(p: {
  chrome: Chrome;
  form: ApiForm;
  serverDefaults: ApiServerDefaults;
  error?: string;
}): string {
  return renderPage(
    <Shell title="Add API" chrome={p.chrome}>
      <h1>Add API</h1>
      <ErrorBox error={p.error} />
      <form method="post" action="/admin/apis">
        <Csrf chrome={p.chrome} />
        <label for="identifier">Identifier (the tokens' aud)</label>
        <input
          type="text"
          id="identifier"
          name="identifier"
          required
          maxLength={512}
          placeholder="https://api.example.com"
          aria-describedby="identifier-help"
          value={p.form.identifier}
        />
        <p class="small-block" id="identifier-help">
          An absolute URI without a fragment (RFC 8707): https, http on loopback only, or a name such as
          urn:example:orders. It cannot be changed later.
        </p>
        <ApiSettingsFields form={p.form} serverDefaults={p.serverDefaults} />
        <button type="submit">Create API</button>
      </form>
    </Shell>,
  );
}

export function apiPage(p: {
  chrome: Chrome;
  api: Api;
  isDefault: boolean;
  form: ApiForm;
  serverDefaults: ApiServerDefaults;
  error?: string;
  notice?: string;
}): string {
  const api = p.api;
  const base = apiHref(api.identifier);
  return renderPage(
    <Shell title={api.name} chrome={p.chrome}>
      <h1>
        {api.name}
        {p.isDefault ? <DefaultTag /> : null}
      </h1>
      <dl class="facts">
        <dt>Identifier</dt>
        <dd>
          <code id="api-identifier">{api.identifier}</code>
        </dd>
        <dt>Scopes</dt>
        <dd id="api-scope-count">{api.scopes.length}</dd>
        <dt>Access token lifetime</dt>
        <dd id="api-ttl">{apiTtlText(api, p.serverDefaults)}</dd>
        <dt>Token algorithm</dt>
        <dd id="api-alg">{apiAlgText(api, p.serverDefaults)}</dd>
        <dt>Dynamic clients</dt>
        <dd id="api-dynamic">{api.allowDynamicClients ? 'Allowed' : 'Not allowed'}</dd>
        <dt>Updated</dt>
        <dd>{api.updatedAt === 0 ? 'Never changed' : time(api.updatedAt)}</dd>
      </dl>
      <Notice text={p.notice} />
      <h2>Settings</h2>
      <ErrorBox error={p.error} />
      <form method="post" action={base}>
        <Csrf chrome={p.chrome} />
        <ApiSettingsFields form={p.form} serverDefaults={p.serverDefaults} />
        <button type="submit">Save settings</button>
      </form>
      <h2>Danger zone</h2>
      {p.isDefault ? (
        <p class="small-block" id="default-not-deletable">
          This is the default API (LATCHKEY_AUDIENCE): it cannot be deleted.
        </p>
      ) : (
        <p>
          <a class="danger" href={`${base}/delete`}>
            Delete this API…
          </a>
        </p>
      )}
    </Shell>,
  );
}

export function deleteApiPage(p: { chrome: Chrome; api: Api }): string {
  const base = apiHref(p.api.identifier);
  return renderPage(
    <Shell title="Delete API" chrome={p.chrome}>
      <h1>Delete {p.api.name}?</h1>
      <p class="lead">
        Its scopes and settings are removed: <code>{p.api.identifier}</code> is no longer a registered API.
        This cannot be undone.
      </p>
      <form method="post" action={`${base}/delete`}>
        <Csrf chrome={p.chrome} />
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit" class="danger">
          Delete {p.api.name}
        </button>
      </form>
      <p>
        <a href={base}>Cancel</a>
      </p>
    </Shell>,
  );
}

export function usersPage(p: { chrome: Chrome; users: User[]; notice?: string }): string {
  return renderPage(
    <Shell title="Users" chrome={p.chrome}>
      <ListHeader title="Users" addHref="/admin/users/new" addLabel="Add User" notice={p.notice} />
      {p.users.length === 0 ? (
        <p class="lead">No users yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Username</th>
              <th>Email</th>
              <th>Name</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {p.users.map((u) => (
              <tr key={u.id}>
                <td>
                  <a href={`/admin/users/${encodeURIComponent(u.id)}`}>{u.username}</a>
                  {u.isAdmin ? <span class="tag">admin</span> : null}
                </td>
                <td>{u.email ?? ''}</td>
                <td>{u.name ?? ''}</td>
                <td class={u.disabled ? 'status-disabled' : 'status-active'}>
                  {u.disabled ? 'Disabled' : 'Active'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Shell>,
  );
}

export interface NewUserForm {
  username?: string;
  email?: string;
  name?: string;
  isAdmin?: boolean;
}

export function newUserPage(p: { chrome: Chrome; form: NewUserForm; error?: string }): string {
  const f = p.form;
  return renderPage(
    <Shell title="Add User" chrome={p.chrome}>
      <h1>Add User</h1>
      <ErrorBox error={p.error} />
      <form method="post" action="/admin/users" class="narrow">
        <Csrf chrome={p.chrome} />
        <label for="username">Username</label>
        <input type="text" id="username" name="username" required maxLength={128} value={f.username ?? ''} />
        <label for="email">Email</label>
        <input type="text" id="email" name="email" maxLength={254} value={f.email ?? ''} />
        <label for="name">Full name</label>
        <input type="text" id="name" name="name" maxLength={200} value={f.name ?? ''} />
        <label for="password">Password (at least 8 characters)</label>
        <input type="password" id="password" name="password" required autocomplete="new-password" />
        <label class="choice">
          <input type="checkbox" name="is_admin" value="yes" checked={f.isAdmin === true} />
          <span>Administrator (may use this console)</span>
        </label>
        <button type="submit">Create user</button>
      </form>
    </Shell>,
  );
}

const FACTOR_LABEL: Record<FactorType, string> = {
  passkey: 'Passkey',
  totp: 'Authenticator app (TOTP)',
  recovery_codes: 'Recovery codes',
};

/** The person's factors, each with a Remove button (a lost phone or security key). */
function FactorsTable(props: { chrome: Chrome; base: string; factors: UserFactor[] }) {
  if (props.factors.length === 0)
    return (
      <p class="lead" id="no-factors">
        No passkeys, authenticator apps or recovery codes: a password only.
      </p>
    );
  return (
    <table id="factors">
      <thead>
        <tr>
          <th>Type</th>
          <th>Name</th>
          <th>Created (UTC)</th>
          <th>Last used (UTC)</th>
          <th>
            <span class="small-inline">Action</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.factors.map((f) => (
          <tr key={f.id} data-factor-id={f.id}>
            <td>{FACTOR_LABEL[f.type]}</td>
            <td>{f.name}</td>
            <td>{time(f.createdAt)}</td>
            <td>{f.lastUsedAt === null ? 'Never' : time(f.lastUsedAt)}</td>
            <td>
              <form method="post" action={`${props.base}/factors/${encodeURIComponent(f.id)}/remove`}>
                <Csrf chrome={props.chrome} />
                <button type="submit" class="link" aria-label={`Remove ${FACTOR_LABEL[f.type]}: ${f.name}`}>
                  Remove
                </button>
              </form>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function userPage(p: {
  chrome: Chrome;
  user: User;
  factors: UserFactor[];
  /** Sessions still open (not ended, not expired). */
  openSessions: number;
  error?: string;
  notice?: string;
}): string {
  const u = p.user;
  const base = `/admin/users/${encodeURIComponent(u.id)}`;
  return renderPage(
    <Shell title={u.username} chrome={p.chrome}>
      <h1>{u.username}</h1>
      <ErrorBox error={p.error} />
      <Notice text={p.notice} />
      <dl class="facts">
        <dt>ID (sub)</dt>
        <dd>
          <code>{u.id}</code>
        </dd>
        <dt>Email</dt>
        <dd>{u.email ?? '—'}</dd>
        <dt>Name</dt>
        <dd>{u.name ?? '—'}</dd>
        <dt>Status</dt>
        <dd id="user-status">{u.disabled ? 'Disabled' : 'Active'}</dd>
        <dt>Administrator</dt>
        <dd>{u.isAdmin ? 'Yes' : 'No'}</dd>
        <dt>Open sessions</dt>
        <dd id="open-sessions">{p.openSessions}</dd>
        <dt>Second factor at next sign-in</dt>
        <dd id="mfa-enrolment">
          {u.mfaEnrolRequired ? 'Required (asked by an administrator)' : 'Not asked'}
        </dd>
        <dt>Created</dt>
        <dd>{time(u.createdAt)}</dd>
      </dl>
      <h2>Sign-in factors</h2>
      <FactorsTable chrome={p.chrome} base={base} factors={p.factors} />
      <p class="small">
        Remove a factor the person lost (a phone, a security key). Removing it does not end their sessions:
        sign them out everywhere too if someone else may hold it.
      </p>
      <form method="post" action={`${base}/require-enrolment`} class="narrow">
        <Csrf chrome={p.chrome} />
        <p class="small">
          At their next sign-in, whatever the application's MFA setting, the person must use a second factor,
          or enrol a passkey or an authenticator app if they have none.
        </p>
        <button type="submit" class="secondary" disabled={u.mfaEnrolRequired === true}>
          Require a factor at next sign-in
        </button>
      </form>
      <h2>Sessions</h2>
      <form method="post" action={`${base}/logout`} class="narrow">
        <Csrf chrome={p.chrome} />
        <p class="small">
          Ends every session and revokes every refresh token of this person; the account stays enabled and
          they can sign in again.
        </p>
        <button type="submit" class="secondary">
          Sign out everywhere
        </button>
      </form>
      <h2>{u.disabled ? 'Enable' : 'Disable'}</h2>
      <form method="post" action={`${base}/${u.disabled ? 'enable' : 'disable'}`}>
        <Csrf chrome={p.chrome} />
        {u.disabled ? null : (
          <p class="small">Disabling ends the user's sessions and revokes their refresh tokens.</p>
        )}
        <button type="submit" class={u.disabled ? 'secondary' : 'danger'}>
          {u.disabled ? 'Enable user' : 'Disable user'}
        </button>
      </form>
      <h2>Administrator role</h2>
      <form method="post" action={`${base}/${u.isAdmin ? 'revoke-admin' : 'grant-admin'}`}>
        <Csrf chrome={p.chrome} />
        <button type="submit" class="secondary">
          {u.isAdmin ? 'Withdraw administrator role' : 'Make administrator'}
        </button>
      </form>
      <h2>Set password</h2>
      <form method="post" action={`${base}/password`} class="narrow">
        <Csrf chrome={p.chrome} />
        <label for="password">New password</label>
        <input type="password" id="password" name="password" required autocomplete="new-password" />
        <button type="submit" class="secondary">
          Set password
        </button>
      </form>
    </Shell>,
  );
}

/** An audit event with the username resolved for display. */
export interface AuditRow extends Omit<AuditEvent, 'id'> {
  username?: string;
}

export function auditPage(p: {
  chrome: Chrome;
  events: AuditRow[];
  type: string;
  types: readonly string[];
}): string {
  return renderPage(
    <Shell title="Audit log" chrome={p.chrome}>
      <h1>Audit log</h1>
      <form method="get" action="/admin/audit" class="filter">
        <label for="type">Event type</label>
        <select id="type" name="type">
          <option value="" selected={p.type === ''}>
            All events
          </option>
          {p.types.map((t) => (
            <option value={t} key={t} selected={p.type === t}>
              {t}
            </option>
          ))}
        </select>
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      {p.events.length === 0 ? (
        <p class="lead">No events.</p>
      ) : (
        <table class="audit">
          <thead>
            <tr>
              <th>Time (UTC)</th>
              <th>Type</th>
              <th>User</th>
              <th>Client</th>
              <th>IP</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {p.events.map((e, i) => (
              <tr key={String(i)}>
                <td>{time(e.at)}</td>
                <td>
                  <code>{e.type}</code>
                </td>
                <td>
                  {e.userId ? (
                    <a href={`/admin/users/${encodeURIComponent(e.userId)}`}>{e.username ?? e.userId}</a>
                  ) : (
                    ''
                  )}
                </td>
                <td>{e.clientId ? <code>{e.clientId}</code> : ''}</td>
                <td>{e.ip ?? ''}</td>
                <td>
                  <code>{e.detail ? JSON.stringify(e.detail) : ''}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Shell>,
  );
}
