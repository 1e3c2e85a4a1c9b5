/**
 * The public keys of private_key_jwt applications: inline `jwks` as registered, or `jwks_uri`
 * fetched through the guarded fetch and cached (CACHE_MS), shared by every request of a node.
 * A key the cached set lacks (the client rotated) lets the caller ask again, at most once per
 * REFETCH_MIN_MS per URI, so a stream of bad assertions cannot make the server fetch on each.
 */
import type { Clock } from '../clock.js';
import type { Client, ClientJwks } from '../storage/types.js';
import { fetchJson, GuardedFetchError, type GuardedFetchOptions } from './guarded-fetch.js';

export const JWKS_CACHE_MS = 5 * 60_000;
export const JWKS_REFETCH_MIN_MS = 30_000;
const MAX_ENTRIES = 1000;

/** A JWK Set as RFC 7517 §5 has it: an object with a `keys` array of objects; public keys only. */
export function checkJwks(value: unknown): ClientJwks {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as ClientJwks).keys))
    throw new GuardedFetchError('not a JWK Set (an object with a "keys" array)');
  const keys = (value as ClientJwks).keys;
  if (keys.length === 0 || keys.length > 20) throw new GuardedFetchError('a JWK Set holds 1 to 20 keys');
  for (const k of keys) {
    if (typeof k !== 'object' || k === null || typeof k['kty'] !== 'string')
      throw new GuardedFetchError('every key needs a "kty"');
    // RFC 7518 §6.2.2.1, §6.3.2.1, RFC 8037 §2: `d` (and RSA's other private parts) are private.
    if ('d' in k || 'p' in k || 'q' in k || k['kty'] === 'oct')
      throw new GuardedFetchError('a JWK Set for private_key_jwt holds public keys only');
  }
  return { keys: keys.map((k) => ({ ...k })) };
}

export class ClientKeys {
  readonly #cache = new Map<string, { jwks: ClientJwks; fetchedAt: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly fetchOptions: GuardedFetchOptions = {},
  ) {}

  async of(client: Client, opts: { refresh: boolean } = { refresh: false }): Promise<ClientJwks> {
    if (client.jwks) return client.jwks;
    const uri = client.jwksUri;
    if (!uri) throw new GuardedFetchError('the application registered neither jwks nor jwks_uri');
    const now = this.clock.now();
    const cached = this.#cache.get(uri);
    const fresh = cached && now - cached.fetchedAt < JWKS_CACHE_MS;
    const mayRefetch = !cached || now - cached.fetchedAt >= JWKS_REFETCH_MIN_MS;
    if (cached && fresh && !(opts.refresh && mayRefetch)) return cached.jwks;
    const jwks = checkJwks(await fetchJson(uri, this.fetchOptions));
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(uri, { jwks, fetchedAt: now });
    return jwks;
  }
}
