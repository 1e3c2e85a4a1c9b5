/**
 * The issuer's JWK Set, cached. An unknown `kid` triggers a re-fetch, at most once per
 * cool-down, and concurrent re-fetches share one request: key rotation works without a
 * restart, and a flood of tokens with made-up `kid`s cannot make us hammer the server.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { VerificationError } from './errors.js';

export interface KeyEntry {
  kid: string | undefined;
  /** `RSA`, `EC` or `OKP`; symmetric (`oct`) keys are never loaded. */
  kty: string;
  /** EC / OKP curve. */
  crv: string | undefined;
  /** The JWK's own `alg`, when it names one: the key is then usable for that algorithm only. */
  alg: string | undefined;
  key: KeyObject;
}

export interface JwksSourceOptions {
  /** Returns the JWKS URL (discovery is done lazily, once). */
  resolveUri: () => Promise<string>;
  fetch: typeof fetch;
  /** Milliseconds between two fetches triggered by unknown `kid`s. */
  cooldownMs: number;
  /** Milliseconds before retrying after a failed first load. */
  failureRetryMs: number;
  now: () => number;
  timeoutMs: number;
}

/** Parses a JWK Set into usable public keys, skipping what is not a signature public key. */
export function parseJwks(body: unknown): KeyEntry[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
    throw new Error('the JWKS response is not a JWK Set (no "keys" array)');
  }
  const out: KeyEntry[] = [];
  for (const raw of (body as { keys: unknown[] }).keys) {
    if (typeof raw !== 'object' || raw === null) continue;
    const jwk = raw as Record<string, unknown>;
    const kty = jwk['kty'];
    if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') continue;
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') continue;
    const kid = typeof jwk['kid'] === 'string' ? jwk['kid'] : undefined;
    // Only the public members: a published private member must never turn into a key we use.
    const pub: Record<string, unknown> = { kty };
    for (const m of ['n', 'e', 'crv', 'x', 'y']) if (typeof jwk[m] === 'string') pub[m] = jwk[m];
    let key: KeyObject;
    try {
      key = createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
    } catch {
      continue;
    }
    out.push({
      kid,
      kty,
      crv: typeof jwk['crv'] === 'string' ? jwk['crv'] : undefined,
      alg: typeof jwk['alg'] === 'string' ? jwk['alg'] : undefined,
      key,
    });
  }
  return out;
}

export class JwksCache {
  #keys: KeyEntry[] | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #uri: string | undefined;
  /** Fetches made so far (for tests and metrics). */
  fetchCount = 0;

  constructor(private readonly opts: JwksSourceOptions) {}

  /** Uses a fixed key set (no fetching). */
  static fixed(jwks: unknown): JwksCache {
    const c = new JwksCache({
      resolveUri: async () => {
        throw new Error('fixed JWKS');
      },
      fetch: globalThis.fetch,
      cooldownMs: Number.POSITIVE_INFINITY,
      failureRetryMs: Number.POSITIVE_INFINITY,
      now: () => 0,
      timeoutMs: 0,
    });
    c.#keys = parseJwks(jwks);
    c.#lastAttempt = 0;
    return c;
  }

  #find(kid: string | undefined): KeyEntry | undefined {
    const keys = this.#keys ?? [];
    if (kid !== undefined) return keys.find((k) => k.kid === kid);
    // No kid in the token: usable only when the set has exactly one key.
    return keys.length === 1 ? keys[0] : undefined;
  }

  #refresh(): Promise<void> {
    if (!this.#inflight) {
      this.#lastAttempt = this.opts.now();
      this.#inflight = this.#load().finally(() => {
        this.#inflight = undefined;
      });
    }
    return this.#inflight;
  }

  async #load(): Promise<void> {
    this.fetchCount++;
    this.#uri ??= await this.opts.resolveUri();
    const res = await this.opts.fetch(this.#uri, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    if (res.status !== 200) throw new Error(`the JWKS endpoint answered HTTP ${res.status}`);
    this.#keys = parseJwks(await res.json());
  }

  /** The cached key for a kid, without I/O (the hot path); undefined when a fetch would be needed. */
  cached(kid: string | undefined): KeyEntry | undefined {
    return this.#keys === undefined ? undefined : this.#find(kid);
  }

  /** The key for a token header; fetches the set first, and again (rate-limited) for an unknown kid. */
  async key(kid: string | undefined): Promise<KeyEntry> {
    if (this.#keys === undefined) {
      const wait = this.opts.failureRetryMs;
      if (!this.#inflight && this.opts.now() - this.#lastAttempt < wait) {
        throw new VerificationError('LATCHKEY_JWKS_UNAVAILABLE', 'the signing keys could not be loaded', {
          error: 'temporarily_unavailable',
        });
      }
      try {
        await this.#refresh();
      } catch (err) {
        throw new VerificationError('LATCHKEY_JWKS_UNAVAILABLE', 'the signing keys could not be loaded', {
          error: 'temporarily_unavailable',
          cause: err,
        });
      }
    }
    let entry = this.#find(kid);
    if (entry) return entry;
    if (this.#inflight || this.opts.now() - this.#lastAttempt >= this.opts.cooldownMs) {
      // A failed re-fetch keeps the keys we have.
      await this.#refresh().catch(() => {});
      entry = this.#find(kid);
      if (entry) return entry;
    }
    throw new VerificationError(
      'LATCHKEY_UNKNOWN_KEY',
      kid === undefined ? 'the token names no key (kid)' : 'the token is signed with an unknown key',
    );
  }
}
