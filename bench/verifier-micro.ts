/**
 * Micro-benchmark of the access-token verifier: warm JWKS cache, many distinct tokens (so no
 * result cache could help), sequential `await verify()` on one core.
 *
 *   import { benchmarkVerifier } from './bench/verifier-micro.ts'
 *   const r = await benchmarkVerifier({ durationMs: 3000 });  // → { perSecond, verified, ... }
 *
 * or from a shell: `npx tsx bench/verifier-micro.ts [durationMs]`.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createVerifier } from '../src/resource/verifier.js';

export interface VerifierBenchResult {
  perSecond: number;
  verified: number;
  distinctTokens: number;
  durationMs: number;
}

export async function benchmarkVerifier(
  opts: { durationMs?: number; distinctTokens?: number } = {},
): Promise<VerifierBenchResult> {
  const durationMs = opts.durationMs ?? 3000;
  const distinct = opts.distinctTokens ?? 5000;
  const issuer = 'https://bench.latchkey.invalid';
  const audience = 'api://bench';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'bench-key';
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const verifier = createVerifier({ issuer, audience, jwks: { keys: [jwk] } });

  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid })).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < distinct; i++) {
    const payload = Buffer.from(
      JSON.stringify({
        iss: issuer,
        sub: `user-${i}`,
        aud: audience,
        client_id: 'bench-client',
        scope: 'openid profile email',
        iat: now,
        exp: now + 3600,
        jti: randomBytes(16).toString('base64url'),
      }),
    ).toString('base64url');
    const input = `${header}.${payload}`;
    tokens.push(`${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`);
  }
  // Warm-up (JIT, key cache).
  for (let i = 0; i < 500; i++) await verifier.verify(tokens[i % distinct]!, { requiredScopes: ['profile'] });

  let verified = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let j = 0; j < 200; j++) {
      await verifier.verify(tokens[verified % distinct]!, { requiredScopes: ['profile'] });
      verified++;
    }
    elapsed = performance.now() - start;
  }
  return {
    perSecond: Math.round((verified * 1000) / elapsed),
    verified,
    distinctTokens: distinct,
    durationMs: elapsed,
  };
}

const isMain = process.argv[1] !== undefined && /[/\\]verifier-micro\.ts$/.test(process.argv[1]);
if (isMain) {
  const r = await benchmarkVerifier({ durationMs: Number(process.argv[2] ?? 3000) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
