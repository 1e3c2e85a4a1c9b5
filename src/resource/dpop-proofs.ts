/**
 * DPoP for resource servers (RFC 9449 §7): a bound access token (`cnf.jkt`) is accepted only
 * with a proof of its key made for this request. The proof checks are the server's own
 * (protocol/dpop.ts: typ, alg, embedded public key, signature, htm, htu, iat, ath); the
 * `jti`s seen are kept in memory, bounded, for as long as a proof could be accepted, and so are
 * the proof keys imported (by thumbprint, protocol/dpop-keys.ts).
 */
import { checkDpopProof, DpopError } from '../protocol/dpop.js';
import type { ProofKeyCache } from '../protocol/dpop-keys.js';
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

const dpopFail = (message: string) =>
  new VerificationError('LATCHKEY_DPOP_INVALID', message, { error: 'invalid_token' });

export interface BoundTokenDeps {
  now: () => number;
  jtis: JtiCache;
  keys: ProofKeyCache;
}

/** Checks the proof of a bound token: its key must be the token's `cnf.jkt`. */
export async function checkBoundToken(
  token: string,
  jkt: string,
  ctx: DpopContext,
  deps: BoundTokenDeps,
): Promise<void> {
  let proof: Awaited<ReturnType<typeof checkDpopProof>>;
  try {
    proof = await checkDpopProof(
      { header: ctx.proof, method: ctx.method.toUpperCase(), uri: ctx.url, accessToken: token },
      {
        now: deps.now,
        useJti: async (key, exp) => deps.jtis.use(key, exp, deps.now()),
        keys: deps.keys,
      },
    );
  } catch (err) {
    if (err instanceof DpopError) throw dpopFail(err.description);
    throw err;
  }
  if (!proof) throw dpopFail('the token is bound to a DPoP key: a DPoP proof is required');
  if (proof.jkt !== jkt) throw dpopFail('the DPoP proof is made with another key than the token is bound to');
}
