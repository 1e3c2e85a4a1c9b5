/**
 * DPoP for resource servers (RFC 9449 §7): a bound access token (`cnf.jkt`) is accepted only
 * with a proof of its key made for this request. The proof checks are the server's own
 * (protocol/dpop.ts: typ, alg, embedded public key, signature, htm, htu, iat, ath); the `jti`s
 * seen are kept in memory, bounded, for as long as a proof could be accepted.
 */
import { checkDpopProof, DpopError } from '../protocol/dpop.js';
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

/** Seen `jti`s, kept until they expire; at most `max` (the oldest go first when full). */
export class JtiCache {
  readonly #seen = new Map<string, number>();
  constructor(private readonly max = 10_000) {}

  use(key: string, expiresAt: number, now: number): boolean {
    const prior = this.#seen.get(key);
    if (prior !== undefined && prior > now) return false;
    if (this.#seen.size >= this.max) {
      for (const [k, exp] of this.#seen) if (exp <= now) this.#seen.delete(k);
      while (this.#seen.size >= this.max) this.#seen.delete(this.#seen.keys().next().value as string);
    }
    this.#seen.set(key, expiresAt);
    return true;
  }
}

const dpopFail = (message: string) =>
  new VerificationError('LATCHKEY_DPOP_INVALID', message, { error: 'invalid_token' });

/** Checks the proof of a bound token: its key must be the token's `cnf.jkt`. */
export async function checkBoundToken(
  token: string,
  jkt: string,
  ctx: DpopContext,
  deps: { now: () => number; jtis: JtiCache },
): Promise<void> {
  let proof: Awaited<ReturnType<typeof checkDpopProof>>;
  try {
    proof = await checkDpopProof(
      { header: ctx.proof, method: ctx.method.toUpperCase(), uri: ctx.url, accessToken: token },
      { now: deps.now, useJti: async (key, exp) => deps.jtis.use(key, exp, deps.now()) },
    );
  } catch (err) {
    if (err instanceof DpopError) throw dpopFail(err.description);
    throw err;
  }
  if (!proof) throw dpopFail('the token is bound to a DPoP key: a DPoP proof is required');
  if (proof.jkt !== jkt) throw dpopFail('the DPoP proof is made with another key than the token is bound to');
}
