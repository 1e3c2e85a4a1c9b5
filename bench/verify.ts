/**
 * Resource-server verification rate, in its own single-threaded process (so the rate is per core):
 * Latchkey access tokens checked the way an API checks them — RS256 signature against the JWKS,
 * typ at+jwt, iss, aud, exp, and the RFC 9068 claims.
 *
 * When `src/resource/index.ts` (the `latchkey/resource` SDK) exports `createVerifier`, that is what
 * is measured; otherwise a fast-jwt verifier with the same checks stands in. The raw node:crypto
 * RS256 signature check is reported alongside as the ceiling.
 *
 * With `dpop` (DPoP-bound tokens and the private keys they are bound to), latchkey/resource also
 * checks each token with a DPoP proof of its key (RFC 9449 §7: the proof's signature, htm, htu,
 * iat, ath, jti once, then the token and its cnf.jkt). Proofs are signed beforehand, one per
 * check (a jti is accepted once), and a fixed number of them is verified; the time signing them
 * took is reported too (what each request costs the client).
 *
 * Usage: tsx bench/verify.ts '<json { jwksUri, issuer, audience, tokens, seconds, dpop? }>'
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createVerifier as fastJwtVerifier } from 'fast-jwt';
import { importJWK, type JWK, SignJWT } from 'jose';

interface VerifyConfig {
  jwksUri: string;
  issuer: string;
  audience: string;
  tokens: string[];
  seconds: number;
  /** DPoP-bound tokens (`tokens`) and their keys, the URL the proofs are made for, how many. */
  dpop?: { keys: JWK[]; url: string; proofs: number };
}

export interface VerifyResult {
  implementation: string;
  perSecond: number;
  rawRs256PerSecond: number;
  errors: number;
  firstError?: string;
  /** With `dpop`: bound tokens checked with their proofs per second (latchkey/resource). */
  dpopPerSecond?: number;
  /** With `dpop`: ES256 proofs signed per second (the client side, jose, one core). */
  dpopProofsSignedPerSecond?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as VerifyConfig;
const REQUIRED = ['iss', 'exp', 'aud', 'sub', 'iat', 'jti', 'client_id'];

type Check = (token: string, index: number) => unknown;

async function jwksKeys(): Promise<Map<string, KeyObject>> {
  const res = await fetch(config.jwksUri);
  const { keys } = (await res.json()) as { keys: Array<Record<string, unknown> & { kid?: string }> };
  const map = new Map<string, KeyObject>();
  for (const jwk of keys) {
    if (jwk.kid) map.set(jwk.kid, createPublicKey({ key: jwk as never, format: 'jwk' }));
  }
  return map;
}

const headerOf = (token: string) =>
  JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as {
    kid?: string;
  };

/** fast-jwt with the same checks as an RFC 9068 validator; one verifier per signing key. */
function fastJwtCheck(keys: Map<string, KeyObject>): Check {
  const verifiers = new Map<string, (token: string) => unknown>();
  for (const [kid, key] of keys) {
    verifiers.set(
      kid,
      fastJwtVerifier({
        key: key.export({ format: 'pem', type: 'spki' }).toString(),
        algorithms: ['RS256'],
        allowedIss: config.issuer,
        allowedAud: config.audience,
        requiredClaims: REQUIRED,
        checkTyp: 'at+jwt',
        cache: false,
      }) as (token: string) => unknown,
    );
  }
  return (token) => {
    const kid = headerOf(token).kid;
    const v = kid ? verifiers.get(kid) : undefined;
    if (!v) throw new Error(`unknown kid ${kid}`);
    return v(token);
  };
}

/** The SDK's verifier, when the resource-server package exists in this tree. */
async function sdkCheck(): Promise<Check | undefined> {
  const file = new URL('../src/resource/index.ts', import.meta.url);
  if (!existsSync(file)) return undefined;
  const spec = '../src/resource/index.js';
  const mod = (await import(spec)) as { createVerifier?: (opts: Record<string, unknown>) => unknown };
  if (typeof mod.createVerifier !== 'function') return undefined;
  const verifier = mod.createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    jwksUri: config.jwksUri,
  }) as
    | ((token: string) => unknown)
    | { verify: (token: string) => unknown }
    | Promise<{ verify: (token: string) => unknown }>;
  const v = await verifier;
  if (typeof v === 'function') return v;
  if (v && typeof v.verify === 'function') return (token) => v.verify(token);
  return undefined;
}

/** Runs `check` over the tokens round-robin for `seconds`; async checks are awaited one at a time. */
async function rate(
  check: Check,
  seconds: number,
): Promise<{ perSecond: number; errors: number; first?: string }> {
  const tokens = config.tokens;
  let n = 0;
  let errors = 0;
  let first: string | undefined;
  // Warm-up (JIT, key caches, a possible first JWKS fetch).
  for (let i = 0; i < 200; i++) {
    try {
      await check(tokens[i % tokens.length]!, i % tokens.length);
    } catch (err) {
      first ??= (err as Error).message;
    }
  }
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++, n++) {
      try {
        const r = check(tokens[n % tokens.length]!, n % tokens.length);
        if (r instanceof Promise) await r;
      } catch (err) {
        errors++;
        first ??= (err as Error).message;
      }
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  return { perSecond: Math.round(n / elapsed), errors, ...(first ? { first } : {}) };
}

/** DPoP-bound tokens through latchkey/resource with a fresh proof each: proofs signed, then checked. */
async function dpopRate(dpop: NonNullable<VerifyConfig['dpop']>): Promise<{
  perSecond: number;
  signedPerSecond: number;
  errors: number;
  first?: string;
}> {
  const { createVerifier } = await import('../src/resource/index.js');
  const verifier = createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    jwksUri: config.jwksUri,
  });
  const keys = await Promise.all(dpop.keys.map((k) => importJWK(k, 'ES256')));
  const publics = dpop.keys.map(({ kty, crv, x, y }) => ({ kty, crv, x, y }));
  const aths = config.tokens.map((t) => createHash('sha256').update(t).digest('base64url'));
  const sign = (i: number) => {
    const k = i % config.tokens.length;
    return new SignJWT({
      jti: randomUUID(),
      htm: 'GET',
      htu: dpop.url,
      iat: Math.floor(Date.now() / 1000),
      ath: aths[k],
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publics[k]! })
      .sign(keys[k]!);
  };
  const check = (proof: string, i: number) =>
    verifier.verify(config.tokens[i % config.tokens.length]!, {
      dpop: { proof, method: 'GET', url: dpop.url },
    });
  // Warm-up, then the measured batch.
  for (let i = 0; i < 200; i++) await check(await sign(i), i);
  const proofs: string[] = [];
  const s0 = performance.now();
  for (let i = 0; i < dpop.proofs; i++) proofs.push(await sign(i));
  const signMs = performance.now() - s0;
  let errors = 0;
  let first: string | undefined;
  const v0 = performance.now();
  for (let i = 0; i < proofs.length; i++) {
    try {
      await check(proofs[i]!, i);
    } catch (err) {
      errors++;
      first ??= (err as Error).message;
    }
  }
  const verifyMs = performance.now() - v0;
  return {
    perSecond: Math.round((proofs.length * 1000) / verifyMs),
    signedPerSecond: Math.round((proofs.length * 1000) / signMs),
    errors,
    ...(first ? { first } : {}),
  };
}

async function main(): Promise<void> {
  if (config.tokens.length === 0) throw new Error('no access tokens to verify');
  if (config.dpop) {
    const d = await dpopRate(config.dpop);
    const result: VerifyResult = {
      implementation: 'latchkey/resource createVerifier with DPoP proofs',
      perSecond: d.perSecond,
      rawRs256PerSecond: 0,
      errors: d.errors,
      ...(d.first ? { firstError: d.first } : {}),
      dpopPerSecond: d.perSecond,
      dpopProofsSignedPerSecond: d.signedPerSecond,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const keys = await jwksKeys();
  let implementation = 'latchkey/resource createVerifier';
  let check: Check | undefined;
  try {
    check = await sdkCheck();
    // A verifier that cannot verify a fresh, valid token is not measured (for example a
    // half-written SDK in a shared working tree).
    if (check) await check(config.tokens[0]!, 0);
  } catch (err) {
    check = undefined;
    process.stderr.write(
      `verify: latchkey/resource not usable (${(err as Error).message}); using fast-jwt\n`,
    );
  }
  if (!check) {
    implementation = 'fast-jwt RS256 + RFC 9068 claim checks (latchkey/resource not present)';
    check = fastJwtCheck(keys);
  }
  const main = await rate(check, config.seconds);

  const raw = config.tokens.map((t) => {
    const [h = '', p = '', s = ''] = t.split('.');
    const key = keys.get(headerOf(t).kid ?? '');
    if (!key) throw new Error('token signed with a key not in the JWKS');
    return { data: Buffer.from(`${h}.${p}`), sig: Buffer.from(s, 'base64url'), key };
  });
  const rawRate = await rate(
    (_token, index) => {
      const r = raw[index]!;
      if (!cryptoVerify('sha256', r.data, r.key, r.sig)) throw new Error('bad signature');
    },
    Math.max(1, config.seconds / 2),
  );
  const result: VerifyResult = {
    implementation,
    perSecond: main.perSecond,
    rawRs256PerSecond: rawRate.perSecond,
    errors: main.errors + rawRate.errors,
    ...(main.first ? { firstError: main.first } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
