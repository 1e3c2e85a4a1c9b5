/**
 * DPoP for resource servers (RFC 9449 §7): a bound access token (`cnf.jkt`) is accepted only
 * with a proof of its key made for this request. The proof checks are the server's own
 * (protocol/dpop.ts: typ, alg, embedded public key, signature, htm, htu, nonce, iat, ath); the
 * `jti`s seen are kept in memory, bounded, for as long as a proof could be accepted, and so are
 * the proof keys imported (by thumbprint, protocol/dpop-keys.ts).
 *
 * Server nonces (§9), when the verifier requires them: stateless HMACs of a time window
 * (protocol/dpop-nonce.ts, the authorization server's own scheme) under a key of this verifier,
 * so every instance of an API given the same secret accepts the others' nonces and nothing is
 * stored per client. A proof without the current (or the previous window's) nonce is refused
 * with `use_dpop_nonce` and the nonce to use.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { checkDpopProof, DpopError, DpopNonceError } from '../protocol/dpop.js';
import type { ProofKeyCache } from '../protocol/dpop-keys.js';
import { DpopNonces } from '../protocol/dpop-nonce.js';
import { VerificationError } from './errors.js';

/** What a request carries for a DPoP check. */
export interface DpopContext {
  /** The `DPoP` header(s) as received. */
  proof: string | string[] | undefined;
  /** The request's method (`GET`, `POST`, …). */
  method: string;
  /** The request's absolute URL as the client addressed it (query and fragment are ignored). */
  url: string;
}

/**
 * Seen `jti`s, kept until they expire; at most `max` (the oldest go first when full, expired
 * ones before any live one). Insertion order is nearly expiry order (every entry lives the same
 * time from its proof's `iat`), so a full cache is swept only when its earliest expiry has
 * passed: a cache kept full by heavy traffic costs O(1) per proof, not a scan of every entry.
 */
export class JtiCache {
  readonly #seen = new Map<string, number>();
  /** No entry expires before this (ms); Infinity when empty. */
  #earliest = Number.POSITIVE_INFINITY;
  constructor(private readonly max = 10_000) {}

  use(key: string, expiresAt: number, now: number): boolean {
    const prior = this.#seen.get(key);
    if (prior !== undefined && prior > now) return false;
    if (prior !== undefined) this.#seen.delete(key);
    if (this.#seen.size >= this.max) {
      if (this.#earliest <= now) {
        let earliest = Number.POSITIVE_INFINITY;
        for (const [k, exp] of this.#seen) {
          if (exp <= now) this.#seen.delete(k);
          else if (exp < earliest) earliest = exp;
        }
        this.#earliest = earliest;
      }
      while (this.#seen.size >= this.max) this.#seen.delete(this.#seen.keys().next().value as string);
    }
    this.#seen.set(key, expiresAt);
    if (expiresAt < this.#earliest) this.#earliest = expiresAt;
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}

/** How createVerifier's `dpopNonce` option is held. */
export interface NonceSettings {
  /** Required by default (a call's `dpopNonce` may say otherwise). */
  required: boolean;
  nonces: DpopNonces;
}

/**
 * The nonces of a verifier: keyed by `secret` (HMAC-SHA256 of a label, so the secret itself is
 * never the key), or by a random key of this process when none is given. The key id in each
 * nonce is taken from the key, so a nonce made under another secret is refused at once.
 */
export function nonceSettings(
  opts: { secret?: string | Uint8Array; windowSec?: number; required?: boolean },
  now: () => number,
): NonceSettings {
  const secret = opts.secret ?? randomBytes(32);
  const key = createHmac('sha256', secret).update('latchkey/resource dpop-nonce').digest();
  const id = createHash('sha256').update(key).digest().readUInt32BE(0);
  const keys = {
    current: async () => ({ id, key }),
    byId: async (n: number) => (n === id ? key : undefined),
  };
  return {
    required: opts.required ?? true,
    nonces: new DpopNonces(keys, { now: () => now() }, opts.windowSec),
  };
}

const dpopFail = (message: string) =>
  new VerificationError('LATCHKEY_DPOP_INVALID', message, { error: 'invalid_token' });

export interface BoundTokenDeps {
  now: () => number;
  jtis: JtiCache;
  keys: ProofKeyCache;
  /** Set when this check requires a server nonce (RFC 9449 §9). */
  nonces?: DpopNonces | undefined;
}

/**
 * Checks the proof of a bound token: its key must be the token's `cnf.jkt`. With `nonces`,
 * returns the current nonce (for a `DPoP-Nonce` header on the response, §9: a server may send a
 * fresh one with any response).
 */
export async function checkBoundToken(
  token: string,
  jkt: string,
  ctx: DpopContext,
  deps: BoundTokenDeps,
): Promise<{ nonce?: string }> {
  let proof: Awaited<ReturnType<typeof checkDpopProof>>;
  try {
    proof = await checkDpopProof(
      { header: ctx.proof, method: ctx.method.toUpperCase(), uri: ctx.url, accessToken: token },
      {
        now: deps.now,
        useJti: async (key, exp) => deps.jtis.use(key, exp, deps.now()),
        keys: deps.keys,
        ...(deps.nonces ? { nonces: deps.nonces } : {}),
      },
    );
  } catch (err) {
    // §9: a 401 whose DPoP challenge is use_dpop_nonce, with the nonce to use (the jti is not
    // spent: the client retries with a new proof carrying it).
    if (err instanceof DpopNonceError)
      throw new VerificationError('LATCHKEY_DPOP_NONCE', err.description, {
        error: 'use_dpop_nonce',
        dpopNonce: err.nonce,
      });
    if (err instanceof DpopError) throw dpopFail(err.description);
    throw err;
  }
  if (!proof) throw dpopFail('the token is bound to a DPoP key: a DPoP proof is required');
  if (proof.jkt !== jkt) throw dpopFail('the DPoP proof is made with another key than the token is bound to');
  return deps.nonces ? { nonce: await deps.nonces.current() } : {};
}
