/** Raw-HTTP flow steps for the crash and outage tests: sign-in, code, tokens, introspection. */
import { randomBytes } from 'node:crypto';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { authorizeQuery, basic, pkce } from '../helpers/flow.js';
import type { Seeded } from '../helpers/serve-child.js';

export interface Code {
  code: string;
  verifier: string;
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

async function form(url: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { raw: text.slice(0, 300) };
  }
  return { status: res.status, json, headers: res.headers };
}

/** The authorize URL of a fresh request (PKCE S256, offline_access for a refresh token). */
export function authorizeUrl(base: string, s: Seeded): { url: string; verifier: string; state: string } {
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString('base64url');
  const q = authorizeQuery(s.app, challenge, { scope: 'openid offline_access', state });
  return { url: `${base}/authorize?${q}`, verifier, state };
}

/**
 * Signs `username` in through the real form and returns the code, or the step that stopped it
 * (status and body) as an error.
 */
export async function getCode(base: string, s: Seeded, username: string): Promise<Code> {
  const a = authorizeUrl(base, s);
  const final = await authorizeThroughBrowser(new Browser(base), a.url, { username });
  const location = final.location ?? '';
  const code = location.startsWith(s.app.redirectUri) ? new URL(location).searchParams.get('code') : null;
  if (final.status !== 303 || !code) {
    throw Object.assign(new Error(`no code: ${final.status} ${location} ${final.body.slice(0, 200)}`), {
      status: final.status,
      location,
      body: final.body,
      retryAfter: final.headers.get('retry-after'),
    });
  }
  return { code, verifier: a.verifier };
}

export function redeem(base: string, s: Seeded, c: Code): Promise<Answer> {
  return form(`${base}/token`, {
    grant_type: 'authorization_code',
    code: c.code,
    code_verifier: c.verifier,
    client_id: s.app.clientId,
    redirect_uri: s.app.redirectUri,
  });
}

export function refresh(base: string, s: Seeded, refreshToken: string): Promise<Answer> {
  return form(`${base}/token`, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: s.app.clientId,
  });
}

export function introspect(base: string, s: Seeded, token: string): Promise<Answer> {
  // RFC 7662 §4: a service application may introspect any token (the web app only its own).
  return form(
    `${base}/introspect`,
    { token },
    { authorization: basic(s.service.clientId, s.service.secret) },
  );
}

export function clientCredentials(base: string, s: Seeded): Promise<Answer> {
  return form(
    `${base}/token`,
    { grant_type: 'client_credentials' },
    { authorization: basic(s.service.clientId, s.service.secret) },
  );
}
