/**
 * Redirect URIs: what may be registered, and how a request's URI is matched against them.
 * RFC 9700 §4.1.3 (exact match), RFC 8252 §7.1 (private-use schemes), §7.3 (loopback, any port), §8.3.
 */
import type { ClientType } from '../storage/types.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);

export class RedirectUriError extends Error {
  override name = 'RedirectUriError';
}

/** Throws RedirectUriError with a one-line reason when `uri` may not be registered. */
export function validateRedirectUriForRegistration(uri: string, type: ClientType): void {
  if (uri.length === 0 || uri.length > 2000)
    throw new RedirectUriError('redirect URI must be 1 to 2000 characters');
  if (/[\s\u0000-\u001f\u007f]/.test(uri))
    throw new RedirectUriError(`redirect URI has whitespace or control characters: ${uri}`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new RedirectUriError(`redirect URI is not an absolute URI: ${uri}`);
  }
  if (uri.includes('#'))
    throw new RedirectUriError(`redirect URI must not have a fragment (RFC 6749 §3.1.2): ${uri}`);
  if (uri.includes('*')) throw new RedirectUriError(`redirect URI must not contain wildcards: ${uri}`);
  if (url.username || url.password)
    throw new RedirectUriError(`redirect URI must not carry credentials: ${uri}`);
  const scheme = url.protocol.slice(0, -1);
  // Written the way it will be compared: `https:host/x` parses, but is not what any browser
  // would send back; registering it would only ever fail to match (RFC 3986 §3.2: `//` authority).
  if ((scheme === 'https' || scheme === 'http') && !uri.toLowerCase().startsWith(`${scheme}://`)) {
    throw new RedirectUriError(`redirect URI must start with ${scheme}:// : ${uri}`);
  }
  if (scheme === 'https') {
    if (!url.hostname) throw new RedirectUriError(`redirect URI has no host: ${uri}`);
    return;
  }
  if (scheme === 'http') {
    if (!LOOPBACK_HOSTS.has(url.host.replace(/:\d+$/, ''))) {
      throw new RedirectUriError(
        `http redirect URIs are allowed only for loopback (127.0.0.1, [::1], localhost): ${uri}`,
      );
    }
    return;
  }
  if (['javascript', 'data', 'file', 'vbscript', 'blob', 'about', 'ws', 'wss'].includes(scheme)) {
    throw new RedirectUriError(`redirect URI scheme "${scheme}" is not allowed: ${uri}`);
  }
  // RFC 8252 §7.1: private-use URI schemes, reverse domain name form (at least one dot), for native apps.
  if (type !== 'native') {
    throw new RedirectUriError(`private-use scheme redirect URIs are only for native applications: ${uri}`);
  }
  if (!/^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/.test(scheme)) {
    throw new RedirectUriError(
      `private-use scheme must be in reverse-domain form such as com.example.app:/callback (RFC 8252 §7.1): ${uri}`,
    );
  }
}

/**
 * RFC 9700 §4.1.3: exact string comparison, except that a loopback IP redirect URI
 * may use any port (RFC 8252 §7.3). `localhost` is matched exactly (RFC 8252 §8.3).
 */
export function matchRedirectUri(requested: string, registered: readonly string[]): boolean {
  if (registered.includes(requested)) return true;
  const req = parseLoopbackIp(requested);
  if (!req) return false;
  return registered.some((r) => {
    const reg = parseLoopbackIp(r);
    return reg !== undefined && reg.host === req.host && reg.rest === req.rest;
  });
}

/** Splits `http://127.0.0.1:PORT/rest` into host and the rest, for loopback IPs only. */
function parseLoopbackIp(uri: string): { host: string; rest: string } | undefined {
  const m = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?(\/[^#]*)?$/.exec(uri);
  if (!m) return undefined;
  const host = m[1]!;
  if (!LOOPBACK_IPS.has(host)) return undefined;
  if (m[2] !== undefined && Number(m[2]) > 65535) return undefined;
  return { host, rest: m[3] ?? '' };
}

/** Origins of a client's redirect URIs (CORS for single-page apps). */
export function originsOf(uris: readonly string[]): string[] {
  const out = new Set<string>();
  for (const u of uris) {
    try {
      const url = new URL(u);
      if (url.protocol === 'https:' || url.protocol === 'http:') out.add(url.origin);
    } catch {
      // registered URIs were validated; nothing to do
    }
  }
  return [...out];
}
