/**
 * The authorization code flow for tests, in one place: PKCE pairs and /authorize requests, codes
 * obtained through the real sign-in form, the token, refresh, introspection and client
 * credentials requests, tokens obtained with a certified client library (oauth4webapi), the
 * assertions the flow tests share, and `withServer()`, the in-process server of a suite.
 *
 * Everything here speaks plain HTTP to a base URL (a string, or anything with a `url`: a
 * TestServer), so the same helpers drive in-process servers and `latchkey serve` processes.
 * This module must not import node:child_process, playwright-core or the TCP proxy, even
 * indirectly (serve-child.ts, cli-process.ts, chromium.ts, tcp-proxy.ts): test/run.mjs would
 * then count every test importing it as slow and leave it out of `npm run test:quick`.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import type { ManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { authorizeThroughBrowser, Browser } from './browser.js';
import { createTempDatabase, type TempPgDatabase } from './databases.js';
import { createClient, createUser, startTestServer, type TestServer } from './server.js';

export const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** Where requests go: a base URL, or a server (anything with its `url`). */
export type Base = string | { url: string };
const urlOf = (base: Base): string => (typeof base === 'string' ? base : base.url);

/** An application that uses /authorize. */
export interface App {
  clientId: string;
  redirectUri: string;
}

/** A confidential application's credentials (client_secret_basic). */
export interface Credentials {
  clientId: string;
  secret?: string;
}

function basicFor(c: Credentials): string {
  assert.ok(c.secret, `client ${c.clientId} has a secret`);
  return basic(c.clientId, c.secret);
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

// ---------------------------------------------------------------------------------------------
// /authorize requests

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A fresh PKCE pair (S256). */
export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The RFC 7636 Appendix B example challenge, for requests whose code is never redeemed. */
export const EXAMPLE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/**
 * The query of an /authorize request for `app`: response_type=code with a PKCE S256
 * `challenge`, plus `extra` (which may override any of these; `null` leaves a parameter out).
 */
export function authorizeQuery(
  app: App,
  challenge: string,
  extra: Record<string, string | null> = {},
): URLSearchParams {
  const all: Record<string, string | null> = {
    client_id: app.clientId,
    redirect_uri: app.redirectUri,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(all)) if (v !== null) q.set(k, v);
  return q;
}

/**
 * An /authorize URL (path + query) for `p`, with scope=openid and state=st-123 unless `extra`
 * says otherwise (`null` removes a parameter).
 */
export function authorizePath(app: App, p: Pkce, extra: Record<string, string | null> = {}): string {
  return `/authorize?${authorizeQuery(app, p.challenge, { scope: 'openid', state: 'st-123', ...extra })}`;
}

export interface AuthorizeRequest {
  /** The absolute /authorize URL. */
  url: string;
  verifier: string;
  state: string;
}

/** A fresh authorization request at `base`: new PKCE pair, random state, scope=openid unless `extra`. */
export function authorizeRequest(
  base: Base,
  app: App,
  extra: Record<string, string | null> = {},
): AuthorizeRequest {
  const p = pkce();
  const state = randomBytes(8).toString('base64url');
  return { url: urlOf(base) + authorizePath(app, p, { state, ...extra }), verifier: p.verifier, state };
}

/** Parses the Location of a redirect to the client. */
export function callback(location: string | null): URL {
  assert.ok(location, 'a Location header');
  return new URL(location);
}

/** The code from the client redirect, asserting state came back untouched. */
export function codeFrom(location: string | null, state: string): string {
  const url = callback(location);
  assert.equal(url.searchParams.get('state'), state, `state in ${location}`);
  const code = url.searchParams.get('code');
  assert.ok(code, `a code in ${location}`);
  return code;
}

// ---------------------------------------------------------------------------------------------
// Codes through the sign-in form

export interface Code {
  code: string;
  verifier: string;
}

export interface CodeResult extends Code {
  /** The redirect to the client that carried the code. */
  url: URL;
  /** The browser that signed in (its session cookie set). */
  browser: Browser;
}

/** What getCode throws when no code came back: the step that stopped it. */
export interface NoCodeError extends Error {
  status: number;
  location: string;
  body: string;
  retryAfter: string | null;
}

/**
 * Follows `authorizePath(app, p, extra)` through the real sign-in form (and consent, allowed)
 * as `username` (default alice) in `browser` (default a new one) and returns the code the client
 * received. Anything else — an error page, a 503, an error redirect — throws a NoCodeError.
 */
export async function getCode(
  base: Base,
  app: App,
  p: Pkce = pkce(),
  extra: Record<string, string | null> = {},
  opts: { browser?: Browser; username?: string } = {},
): Promise<CodeResult> {
  const browser = opts.browser ?? new Browser(urlOf(base));
  const final = await authorizeThroughBrowser(browser, authorizePath(app, p, extra), {
    consent: 'allow',
    username: opts.username,
  });
  const location = final.location ?? '';
  const redirectUri = extra['redirect_uri'] ?? app.redirectUri;
  const url = final.status === 303 && location.startsWith(redirectUri) ? new URL(location) : undefined;
  const code = url?.searchParams.get('code');
  if (!url || !code) {
    const message = `no code: ${final.status} ${location} ${final.body.slice(0, 300)}`;
    throw Object.assign(new Error(message), {
      status: final.status,
      location,
      body: final.body,
      retryAfter: final.headers.get('retry-after'),
    }) satisfies NoCodeError;
  }
  return { code, verifier: p.verifier, url, browser };
}

/** getCode for a pushed request: /authorize with client_id and request_uri only (RFC 9126 §4). */
export function getPushedCode(
  base: Base,
  app: App,
  p: Pkce,
  requestUri: string,
  opts: { browser?: Browser; username?: string } = {},
): Promise<CodeResult> {
  const only: Record<string, string | null> = { request_uri: requestUri };
  for (const name of [
    'redirect_uri',
    'response_type',
    'scope',
    'code_challenge',
    'code_challenge_method',
    'state',
  ])
    only[name] = null;
  return getCode(base, app, p, only, opts);
}

// ---------------------------------------------------------------------------------------------
// The token endpoint and its neighbours

export interface Reply {
  status: number;
  headers: Headers;
  /** The JSON body ({} when empty, { raw } when not JSON). */
  json: Record<string, unknown>;
}

/** POSTs a form and returns status, headers and JSON. */
export async function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { raw: text };
  }
  return { status: res.status, headers: res.headers, json };
}

/** POSTs a form to `base`/token. */
export function postToken(
  base: Base,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return postForm(`${urlOf(base)}/token`, form, headers);
}

/** The code exchange a public client makes (`extra` may override or add parameters). */
export function redeem(
  base: Base,
  app: App,
  code: string,
  verifier: string,
  extra: Record<string, string> = {},
): Promise<Reply> {
  return postToken(base, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: app.redirectUri,
    client_id: app.clientId,
    code_verifier: verifier,
    ...extra,
  });
}

/** A public client's refresh (grant_type=refresh_token with its client_id). */
export function refresh(
  base: Base,
  app: { clientId: string },
  refreshToken: string,
  extra: Record<string, string> = {},
): Promise<Reply> {
  return postToken(base, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: app.clientId,
    ...extra,
  });
}

/**
 * RFC 7662 introspection by `caller` (client_secret_basic). A service application may introspect
 * any token (RFC 7662 §4); a web application only its own.
 */
export function introspect(base: Base, caller: Credentials, token: string): Promise<Reply> {
  return postForm(`${urlOf(base)}/introspect`, { token }, { authorization: basicFor(caller) });
}

/** grant_type=client_credentials for a service application (client_secret_basic). */
export function clientCredentials(
  base: Base,
  service: Credentials,
  extra: Record<string, string> = {},
): Promise<Reply> {
  return postToken(
    base,
    { grant_type: 'client_credentials', ...extra },
    { authorization: basicFor(service) },
  );
}

// ---------------------------------------------------------------------------------------------
// With oauth4webapi

export async function discover(server: TestServer): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(server.issuer);
  return oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  );
}

export interface Obtained {
  tokens: oauth.TokenEndpointResponse;
  browser: Browser;
}

/**
 * Tokens through the real flow: a code from the sign-in form (getCode), its response checked
 * and exchanged by oauth4webapi (client_secret_basic when `app` has a secret).
 */
export async function obtainTokens(
  server: TestServer,
  as: oauth.AuthorizationServer,
  app: App & { secret?: string },
  opts: { scope?: string; browser?: Browser; username?: string } = {},
): Promise<Obtained> {
  const client: oauth.Client = { client_id: app.clientId };
  const auth = app.secret ? oauth.ClientSecretBasic(app.secret) : oauth.None();
  const p = pkce();
  const state = oauth.generateRandomState();
  const got = await getCode(
    server,
    app,
    p,
    { scope: opts.scope ?? 'openid profile email offline_access', state },
    { browser: opts.browser, username: opts.username },
  );
  const params = oauth.validateAuthResponse(as, client, got.url, state);
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    auth,
    params,
    app.redirectUri,
    p.verifier,
    insecure,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
  return { tokens, browser: got.browser };
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** RFC 6749 §5.2: an error body has exactly error (+ error_description / error_uri), nothing else. */
export function assertRfcError(reply: Reply, status: number, error: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.equal(reply.json['error'], error);
  for (const k of Object.keys(reply.json))
    assert.ok(['error', 'error_description', 'error_uri'].includes(k), `unexpected member ${k}`);
  assert.equal(typeof reply.json['error_description'], 'string');
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(reply.headers.get('cache-control'), 'no-store');
}

/** The jti of an access token (asserting it is a JWT with one). */
export const jtiOf = (accessToken: unknown): string => {
  assert.equal(typeof accessToken, 'string');
  const jti = decodeJwt(accessToken as string).jti;
  assert.ok(jti);
  return jti;
};

/** An error page: HTML, the given status, no Location. */
export function assertErrorPage(
  step: { status: number; location: string | null; headers: Headers; body: string },
  status = 400,
): void {
  assert.equal(step.status, status, step.body.slice(0, 300));
  assert.equal(step.location, null, 'no redirect');
  assert.match(step.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(!/\bat .*\.(ts|js):\d+/.test(step.body), 'no stack trace');
}

// ---------------------------------------------------------------------------------------------
// withServer(): a suite's in-process server

export type ClientOptions = NonNullable<Parameters<typeof createClient>[1]>;

export interface ServerOptions {
  overrides?: Partial<Config>;
  /** Users to create (password PASSWORD, email <name>@example.com); `user` is the first. */
  users?: string[];
  /** An application to create (createClient's options; `{}` for a native app): `app`. */
  app?: ClientOptions;
  /** Discover the server's metadata with oauth4webapi: `as`. */
  discover?: boolean;
  /**
   * Run on a fresh PostgreSQL database (createTempDatabase with this name prefix, dropped after
   * the suite) instead of a SQLite file. Falsy: SQLite.
   */
  postgres?: string | false;
  clock?: ManualClock;
  freshKeys?: boolean;
}

export interface ServerFixture {
  readonly server: TestServer;
  /** The first of `users`. */
  readonly user: { id: string; username: string };
  /** The application made from `app`. */
  readonly app: App & { secret?: string };
  /** The metadata found by `discover`. */
  readonly as: oauth.AuthorizationServer;
}

/**
 * Starts a test server (startTestServer) before the suite it is called in and cleans it up after,
 * with its users, application and discovered metadata made in the same `before`:
 *
 *   describe('…', () => {
 *     const s = withServer({ users: ['alice'], app: { consent: 'none' } });
 *     it('…', async () => { await getCode(s.server, s.app, pkce()); });
 *   });
 *
 * The getters throw when read before the suite's `before` ran (at describe time) or when the
 * option that makes the value was not given. Hooks run in the order they are registered: a
 * `before` the suite registers after this call runs once the server is up (further setup goes
 * there), and an `after` registered after it runs once the server is gone.
 */
export function withServer(opts: ServerOptions = {}): ServerFixture {
  let pg: TempPgDatabase | undefined;
  let server: TestServer | undefined;
  let user: { id: string; username: string } | undefined;
  let app: (App & { secret?: string }) | undefined;
  let as: oauth.AuthorizationServer | undefined;

  before(async () => {
    if (opts.postgres) pg = await createTempDatabase(opts.postgres);
    server = await startTestServer({
      overrides: { ...opts.overrides, ...(pg ? { database: pg.url } : {}) },
      clock: opts.clock,
      freshKeys: opts.freshKeys,
    });
    for (const name of opts.users ?? []) {
      const made = await createUser(server, name);
      user ??= made;
    }
    if (opts.app) app = await createClient(server, opts.app);
    if (opts.discover) as = await discover(server);
  });
  after(async () => {
    await server?.cleanup();
    await pg?.drop();
  });

  const got = <T>(value: T | undefined, missing: string): T => {
    if (value !== undefined) return value;
    if (!server) throw new Error('withServer(): read in a hook or a test (the server starts in `before`)');
    throw new Error(`withServer(): ${missing}`);
  };
  return {
    get server() {
      return got(server, 'the server did not start');
    },
    get user() {
      return got(user, 'no user: pass `users`');
    },
    get app() {
      return got(app, 'no application: pass `app`');
    },
    get as() {
      return got(as, 'no metadata: pass `discover: true`');
    },
  };
}
