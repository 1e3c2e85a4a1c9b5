/** Small raw-HTTP flow helpers for the operations and several-node tests. */
import { randomBytes } from 'node:crypto';
import { authorizeQuery, pkce } from '../helpers/flow.js';

export interface PendingAuthorize {
  url: string;
  verifier: string;
  state: string;
}

export function authorizeRequest(base: string, clientId: string, redirectUri: string): PendingAuthorize {
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString('base64url');
  const url = new URL(`${base}/authorize`);
  url.search = authorizeQuery({ clientId, redirectUri }, challenge, {
    scope: 'openid profile',
    state,
  }).toString();
  return { url: url.toString(), verifier, state };
}

/** The code from the client redirect (asserting state came back untouched). */
export function codeFrom(location: string | null, state: string): string {
  if (!location) throw new Error('no redirect to the client');
  const u = new URL(location);
  if (u.searchParams.get('state') !== state) throw new Error(`state mismatch in ${location}`);
  const code = u.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return code;
}

export async function redeem(
  base: string,
  p: { code: string; verifier: string; clientId: string; redirectUri: string },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: p.code,
      code_verifier: p.verifier,
      client_id: p.clientId,
      redirect_uri: p.redirectUri,
    }).toString(),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
