/**
 * Micro-benchmark of latchkey/resource with DPoP (RFC 9449 §7), in-process on one core, no
 * server: RS256 access tokens, half of them bound to one of `clients` ES256 keys (`cnf.jkt`);
 * every bound check gets a fresh proof (a `jti` is accepted once). Proofs are signed beforehand,
 * then the Bearer tokens and the bound ones are verified one at a time, and the time each kind
 * takes is reported. For where the time goes, run it under the profiler:
 *
 *   npx tsx bench/dpop-micro.ts [checks] [clients] [--profile file.cpuprofile]
 *   npx tsx bench/profile-summary.ts file.cpuprofile
 *
 * `--profile` records a V8 CPU profile of the DPoP checks alone (not of the key generation and
 * signing before them).
 *
 * The figures bench/README.md gives are those of `npm run bench -- --dpop-only`, which runs the
 * same checks on tokens a real server issued; this one is for quick comparisons.
 */
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createVerifier } from '../src/resource/verifier.js';

const args = process.argv.slice(2);
const profileAt = args.indexOf('--profile');
const profileFile = profileAt >= 0 ? args.splice(profileAt, 2)[1] : undefined;
const checks = Number(args[0] ?? 10_000);
const clients = Number(args[1] ?? 16);
const issuer = 'https://bench.latchkey.invalid';
const audience = 'api://bench';
const url = 'https://api.example/hello';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const verifier = createVerifier({
  issuer,
  audience,
  jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'RS256', use: 'sig' }] },
});
const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'k' })).toString('base64url');
const now = Math.floor(Date.now() / 1000);
function accessToken(i: number, jkt?: string): string {
  const claims = {
    iss: issuer,
    aud: audience,
    sub: `user-${i}`,
    client_id: `client-${i}`,
    scope: 'openid',
    iat: now,
    exp: now + 3600,
    jti: randomUUID(),
    ...(jkt ? { cnf: { jkt } } : {}),
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

const keys: { privateKey: CryptoKey; jwk: JWK; token: string; ath: string }[] = [];
for (let i = 0; i < clients; i++) {
  const pair = await generateKeyPair('ES256');
  const { kty, crv, x, y } = await exportJWK(pair.publicKey);
  const jwk = { kty, crv, x, y } as JWK;
  const token = accessToken(i, await calculateJwkThumbprint(jwk, 'sha256'));
  const ath = createHash('sha256').update(token).digest('base64url');
  keys.push({ privateKey: pair.privateKey, jwk, token, ath });
}
const bearer = Array.from({ length: clients }, (_, i) => accessToken(i));

const proofs: string[] = [];
for (let i = 0; i < checks + 500; i++) {
  const k = keys[i % clients]!;
  proofs.push(
    await new SignJWT({ jti: randomUUID(), htm: 'GET', htu: url, iat: now, ath: k.ath })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: k.jwk })
      .sign(k.privateKey),
  );
}

async function time(what: string, n: number, check: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await check(i); // warm-up: JIT, JWKS, key caches
  const t0 = performance.now();
  for (let i = 500; i < n + 500; i++) await check(i);
  const ms = performance.now() - t0;
  const perSecond = Math.round((n * 1000) / ms);
  console.log(
    `${what.padEnd(28)} ${String(perSecond).padStart(7)}/s  ${((ms * 1000) / n).toFixed(1)} µs each`,
  );
  return perSecond;
}

const b = await time('Bearer', checks, (i) => verifier.verify(bearer[i % clients]!));
const session = profileFile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const d = await time('DPoP (proof + token)', checks, (i) =>
  verifier.verify(keys[i % clients]!.token, { dpop: { proof: proofs[i]!, method: 'GET', url } }),
);
if (session && profileFile) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
  session.disconnect();
}
console.log(`DPoP / Bearer time per check: ${(b / d).toFixed(2)}× (${clients} client keys)`);
