/**
 * The floor of a flow's CPU: what its signatures cost alone, measured with node:crypto's sign()
 * on the core the server runs on (per-core mode). A full PKCE flow signs two tokens (the ID token
 * and the RFC 9068 access token); prints one JSON line { rs256Ms, es256Ms } (ms per signature).
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

const seconds = Number(process.argv[2] ?? 2);
// About the size of a signing input of Latchkey's tokens (header.claims, base64url).
const input = Buffer.from('x'.repeat(620));

function msPerSignature(key: KeyObject, opts: { dsaEncoding?: 'ieee-p1363' } = {}): number {
  for (let i = 0; i < 50; i++) sign('sha256', input, { key, ...opts });
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) sign('sha256', input, { key, ...opts });
    n += 20;
  }
  return Math.round(((performance.now() - t0) / n) * 1000) / 1000;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
process.stdout.write(
  `${JSON.stringify({ rs256Ms: msPerSignature(rsa), es256Ms: msPerSignature(ec, { dsaEncoding: 'ieee-p1363' }) })}\n`,
);
