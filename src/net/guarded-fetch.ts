/**
 * Fetching a document a client names (its `jwks_uri`, its client ID metadata document) without
 * letting the client aim the server at something it should not reach (SSRF):
 * - https only; http only for loopback, and loopback only when the development switch
 *   (LATCHKEY_FETCH_ALLOW_LOOPBACK) is on;
 * - the host is resolved once and every address checked (public unicast only: no private,
 *   loopback, link-local, CGNAT, multicast, documentation or unspecified ranges); the connection
 *   goes to the address that was checked, so a second DNS answer cannot rebind it;
 * - a timeout for the whole exchange, a size limit on the body, redirects refused, JSON only.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

export class GuardedFetchError extends Error {
  override name = 'GuardedFetchError';
}

export interface GuardedFetchOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** Loopback addresses (and http to them) allowed: development and tests only. */
  allowLoopback?: boolean;
  /** Reads the body's text (default JSON.parse); a throw means "not JSON". */
  parse?: (text: string) => unknown;
}

export const FETCH_TIMEOUT_MS = 5000;
export const FETCH_MAX_BYTES = 64 * 1024;

/**
 * Addresses that are never fetched (IANA special-purpose registries, RFC 6890). Two lists: a
 * BlockList checks an IPv4 address against IPv6 rules too (as ::ffff:a.b.c.d), so one IPv6 rule
 * for the mapped range would block every IPv4 address; IPv4-mapped IPv6 addresses are refused
 * outright instead (addressAllowed).
 */
const BLOCKED4 = new BlockList();
const BLOCKED6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED4.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  // IPv4-compatible addresses (::a.b.c.d, deprecated) and the unspecified address; ::1 is loopback.
  ['::', 96],
  ['::1', 128],
  // NAT64 (RFC 6052 well-known, RFC 8215 local use): they reach IPv4 addresses behind a translator.
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  // 6to4 (RFC 3056, deprecated): embeds an IPv4 address, private ones included.
  ['2002::', 16],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED6.addSubnet(net, prefix, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const family = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');
const isLoopback = (address: string) => LOOPBACK.check(address, family(address));

/** Whether the fetch may connect to `address`. */
export function addressAllowed(address: string, allowLoopback: boolean): boolean {
  const version = isIP(address);
  if (version === 0) return false;
  if (isLoopback(address)) return allowLoopback;
  if (version === 4) return !BLOCKED4.check(address, 'ipv4');
  if (/^(::|(0{1,4}:){5})ffff:/i.test(address)) return false;
  return !BLOCKED6.check(address, 'ipv6');
}

/** The URL checks that need no DNS; throws GuardedFetchError. */
export function checkFetchUrl(raw: string, allowLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GuardedFetchError('not an absolute URL');
  }
  if (url.username || url.password) throw new GuardedFetchError('the URL must not carry credentials');
  if (url.hash) throw new GuardedFetchError('the URL must not have a fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopbackName = host === 'localhost' || (isIP(host) !== 0 && isLoopback(host));
  if (url.protocol === 'http:') {
    if (!(allowLoopback && loopbackName)) throw new GuardedFetchError('the URL must use https');
  } else if (url.protocol !== 'https:') throw new GuardedFetchError('the URL must use https');
  if (isIP(host) !== 0 && !addressAllowed(host, allowLoopback))
    throw new GuardedFetchError('the URL points at an address that is not public');
  return url;
}

/** A DNS lookup that refuses when any answer is not allowed (all answers checked). */
function guardedLookup(allowLoopback: boolean) {
  return (
    hostname: string,
    options: object,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      const bad = list.find((a) => !addressAllowed(a.address, allowLoopback));
      if (bad || list.length === 0) {
        const e: NodeJS.ErrnoException = new GuardedFetchError(
          `${hostname} resolves to an address that is not public`,
        );
        e.code = 'ELATCHKEYBLOCKED';
        return callback(e, '');
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** A fetched JSON document and how long it may be kept (RFC 9111 §5.2.2). */
export interface FetchedJson {
  body: unknown;
  /**
   * Seconds the answer's Cache-Control lets it be reused: 0 for no-store or no-cache, its
   * max-age (s-maxage first: this server is a shared cache, RFC 9111 §5.2.2.10), undefined when
   * it says neither.
   */
  maxAgeSec: number | undefined;
}

/** RFC 9111 §5.2: the freshness lifetime a Cache-Control header grants, as FetchedJson has it. */
export function cacheLifetime(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const directives = new Map<string, string>();
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2) as [string, string | undefined];
    if (k) directives.set(k.toLowerCase(), (v ?? '').replace(/^"|"$/g, ''));
  }
  if (directives.has('no-store') || directives.has('no-cache')) return 0;
  for (const name of ['s-maxage', 'max-age']) {
    const v = directives.get(name);
    if (v !== undefined && /^\d{1,10}$/.test(v)) return Number(v);
  }
  return undefined;
}

/** GETs `raw` and returns its JSON body; throws GuardedFetchError with a reason people can read. */
export async function fetchJson(raw: string, opts: GuardedFetchOptions = {}): Promise<unknown> {
  return (await fetchJsonDocument(raw, opts)).body;
}

/** GETs `raw` and returns its JSON body with its cache lifetime; throws GuardedFetchError. */
export function fetchJsonDocument(raw: string, opts: GuardedFetchOptions = {}): Promise<FetchedJson> {
  const allowLoopback = opts.allowLoopback === true;
  const maxBytes = opts.maxBytes ?? FETCH_MAX_BYTES;
  const url = checkFetchUrl(raw, allowLoopback);
  const get = url.protocol === 'https:' ? https.get : http.get;
  const timeoutMs = opts.timeoutMs ?? FETCH_TIMEOUT_MS;
  return new Promise((done, failed) => {
    // One deadline for the whole exchange (lookup, connect, headers, body), not per read.
    const timer = setTimeout(() => fail('no answer in time'), timeoutMs);
    const resolve = (v: FetchedJson) => {
      clearTimeout(timer);
      done(v);
    };
    const reject = (e: Error) => {
      clearTimeout(timer);
      failed(e);
    };
    const fail = (message: string) => {
      req.destroy();
      reject(new GuardedFetchError(message));
    };
    const req = get(
      url,
      {
        lookup: guardedLookup(allowLoopback) as never,
        headers: { accept: 'application/json', 'user-agent': 'latchkey' },
        // No connection reuse across fetches: each one resolves and checks again.
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) return fail(`redirects are not followed (HTTP ${status})`);
        if (status !== 200) return fail(`HTTP ${status}`);
        const length = Number(res.headers['content-length'] ?? '0');
        if (length > maxBytes) return fail(`the document is larger than ${maxBytes} bytes`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) return fail(`the document is larger than ${maxBytes} bytes`);
          chunks.push(c);
        });
        res.on('end', () => {
          if (size > maxBytes) return;
          try {
            const body: unknown = (opts.parse ?? JSON.parse)(Buffer.concat(chunks).toString('utf8'));
            const cc = res.headers['cache-control'];
            resolve({ body, maxAgeSec: cacheLifetime(Array.isArray(cc) ? cc.join(',') : cc) });
          } catch {
            reject(new GuardedFetchError('the document is not JSON'));
          }
        });
        res.on('error', (err) => reject(new GuardedFetchError(err.message)));
      },
    );
    req.on('error', (err) =>
      reject(err instanceof GuardedFetchError ? err : new GuardedFetchError(err.message)),
    );
  });
}
