/**
 * The authorization code flow for tests: PKCE pairs, /authorize queries, and tokens obtained
 * through the real flow (browser form + token exchange).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { authorizeThroughBrowser, Browser } from './browser.js';
import type { TestServer } from './server.js';

export const insecure = { [oauth.allowInsecureRequests]: true } as const;

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
  app: { clientId: string; redirectUri: string },
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

export async function obtainTokens(
  server: TestServer,
  as: oauth.AuthorizationServer,
  app: { clientId: string; secret?: string; redirectUri: string },
  opts: { scope?: string; browser?: Browser; username?: string } = {},
): Promise<Obtained> {
  const client: oauth.Client = { client_id: app.clientId };
  const auth = app.secret ? oauth.ClientSecretBasic(app.secret) : oauth.None();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.search = authorizeQuery(app, await oauth.calculatePKCECodeChallenge(verifier), {
    scope: opts.scope ?? 'openid profile email offline_access',
    state,
  }).toString();
  const browser = opts.browser ?? new Browser(server.url);
  const final = await authorizeThroughBrowser(
    browser,
    url.toString(),
    opts.username ? { username: opts.username } : {},
  );
  assert.equal(final.status, 303, final.body.slice(0, 200));
  const params = oauth.validateAuthResponse(as, client, new URL(final.location!), state);
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    auth,
    params,
    app.redirectUri,
    verifier,
    insecure,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
  return { tokens, browser };
}

/** POSTs a form to the token endpoint and returns status and JSON. */
export async function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json, headers: res.headers };
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
