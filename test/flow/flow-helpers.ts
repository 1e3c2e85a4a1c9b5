/** Small helpers shared by the rule-by-rule flow tests: authorize URLs, code exchange. */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { authorizeQuery, type Pkce } from '../helpers/flow.js';
import type { TestServer } from '../helpers/server.js';

export { type Pkce, pkce } from '../helpers/flow.js';

/** An /authorize URL (path + query) with sensible defaults; `null` removes a parameter. */
export function authorizePath(
  app: { clientId: string; redirectUri: string },
  p: Pkce,
  extra: Record<string, string | null> = {},
): string {
  return `/authorize?${authorizeQuery(app, p.challenge, { scope: 'openid', state: 'st-123', ...extra })}`;
}

/** Parses the Location of a redirect to the client. */
export function callback(location: string | null): URL {
  assert.ok(location, 'a Location header');
  return new URL(location);
}

export interface CodeResult {
  code: string;
  url: URL;
  browser: Browser;
}

/** Signs in through the HTML form and returns the code the client received. */
export async function getCode(
  server: TestServer,
  app: { clientId: string; redirectUri: string },
  p: Pkce,
  extra: Record<string, string | null> = {},
  browser = new Browser(server.url),
): Promise<CodeResult> {
  const step = await authorizeThroughBrowser(browser, authorizePath(app, p, extra), { consent: 'allow' });
  assert.equal(step.status, 303, step.body.slice(0, 300));
  const url = callback(step.location);
  const code = url.searchParams.get('code');
  assert.ok(code, `a code in ${step.location}`);
  return { code, url, browser };
}

export interface TokenReply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

export async function postToken(
  server: TestServer,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<TokenReply> {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    assert.fail(`/token answered non-JSON (${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, json };
}

/** The code exchange a public client makes. */
export function redeem(
  server: TestServer,
  app: { clientId: string; redirectUri: string },
  code: string,
  verifier: string,
  extra: Record<string, string> = {},
): Promise<TokenReply> {
  return postToken(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: app.redirectUri,
    client_id: app.clientId,
    code_verifier: verifier,
    ...extra,
  });
}

/** RFC 6749 §5.2: an error body has exactly error (+ error_description / error_uri), nothing else. */
export function assertRfcError(reply: TokenReply, status: number, error: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.equal(reply.json['error'], error);
  for (const k of Object.keys(reply.json))
    assert.ok(['error', 'error_description', 'error_uri'].includes(k), `unexpected member ${k}`);
  assert.equal(typeof reply.json['error_description'], 'string');
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(reply.headers.get('cache-control'), 'no-store');
}

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
