/**
 * Key rotation must not refuse valid tokens: the publication delay covers the node's key cache,
 * the JWKS `max-age` and the resource servers' 30 s re-fetch cool-down (config.ts
 * minSafePublicationDelaySec). Two real verifiers, warmed before `latchkey keys rotate` and left
 * at their default cool-downs (jose's createRemoteJWKSet and latchkey/resource, 30 s each), check
 * every token minted from the rotation until well past the moment the new key starts signing.
 *
 * The verifiers' cool-downs run on the wall clock, so this test waits in real time (about 40 s).
 * To keep it that short, the key cache and the JWKS max-age are set to 1 s and the delay to
 * 33 s: still at least key cache + max-age + 30 s (the rule), with 1 s to spare. A second server
 * with the old defaults (delay 10 s, max-age 60 s, key cache 5 s) runs alongside as the control:
 * there the same verifiers refuse tokens of the new key.
 *
 * @slow: waits about 40 s in real time (the verifiers' cool-downs run on the wall clock).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { configWarnings, loadConfig, minSafePublicationDelaySec } from '../../src/config.js';
import { createVerifier } from '../../src/resource/index.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Timing {
  keyPublicationDelaySec: number;
  keyCacheSec: number;
  jwksMaxAgeSec: number;
}

interface Outcome {
  checked: number;
  kids: Set<string>;
  newKid: string;
  activeAt: number;
  refused: { verifier: string; kid: string; at: number; error: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Warms both verifiers, rotates with the CLI, then mints and verifies until `activeAt + tailMs`. */
async function rotateAndVerify(server: TestServer, timing: Timing, tailMs: number): Promise<Outcome> {
  const { issuer } = server;
  const audience = server.ctx.config.audience;
  const mint = async () =>
    (
      await server.ctx.minter.accessToken({
        sub: 'u1',
        grantId: null,
        clientId: 'c1',
        scope: 'openid',
        ttlSec: 600,
      })
    ).token;
  // Both left at their default cool-downs (30 s) and clocks (the wall clock).
  const joseKeys = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const sdk = createVerifier({ issuer, audience });
  const verifiers: [string, (t: string) => Promise<unknown>][] = [
    ['jose createRemoteJWKSet', (t) => jwtVerify(t, joseKeys, { issuer, audience, typ: 'at+jwt' })],
    ['latchkey/resource', (t) => sdk.verify(t)],
  ];
  const warm = await mint();
  for (const [, verify] of verifiers) await verify(warm);

  const rotated = await runCli(['keys', 'rotate', '--db', server.dbPath, '--json'], {
    env: {
      LATCHKEY_KEY_PUBLICATION_DELAY: String(timing.keyPublicationDelaySec),
      LATCHKEY_KEY_CACHE: String(timing.keyCacheSec),
      LATCHKEY_JWKS_MAX_AGE: String(timing.jwksMaxAgeSec),
    },
  });
  assert.equal(rotated.code, 0, rotated.stderr);
  const key = JSON.parse(rotated.stdout) as { kid: string; active_at: string };
  const activeAt = Date.parse(key.active_at);

  const out: Outcome = { checked: 0, kids: new Set(), newKid: key.kid, activeAt, refused: [] };
  const minted: string[] = [];
  while (Date.now() < activeAt + tailMs) {
    const token = await mint();
    minted.push(token);
    const kid = String(decodeProtectedHeader(token).kid);
    out.kids.add(kid);
    for (const [name, verify] of verifiers) {
      out.checked++;
      await verify(token).catch((err: Error) =>
        out.refused.push({ verifier: name, kid, at: Date.now() - activeAt, error: err.message }),
      );
    }
    await sleep(250);
  }
  // The old key stays published: its tokens still verify after the new key signs.
  for (const token of minted) {
    for (const [name, verify] of verifiers) {
      await verify(token).catch((err: Error) =>
        out.refused.push({
          verifier: `${name} (again)`,
          kid: '',
          at: Date.now() - activeAt,
          error: err.message,
        }),
      );
    }
  }
  return out;
}

describe('key rotation timing', () => {
  it('defaults: publication delay 120 s, JWKS max-age 60 s, no warning', () => {
    const cfg = loadConfig({}, {});
    assert.equal(cfg.keyPublicationDelaySec, 120);
    assert.equal(cfg.jwksMaxAgeSec, 60);
    assert.ok(cfg.keyPublicationDelaySec >= minSafePublicationDelaySec(cfg) + 20, 'with a margin');
    assert.deepEqual(configWarnings(cfg), []);
  });

  it('warns at start when the delay is below key cache + max-age + 30 s', () => {
    const old = loadConfig({}, { LATCHKEY_KEY_PUBLICATION_DELAY: '10' });
    const [w, ...more] = configWarnings(old);
    assert.match(w ?? '', /LATCHKEY_KEY_PUBLICATION_DELAY is 10 s, .* = 95 s/);
    assert.equal(more.length, 0);
    const low = { LATCHKEY_JWKS_MAX_AGE: '1', LATCHKEY_KEY_CACHE: '1' };
    assert.equal(configWarnings(loadConfig({}, { ...low, LATCHKEY_KEY_PUBLICATION_DELAY: '31' })).length, 1);
    assert.deepEqual(configWarnings(loadConfig({}, { ...low, LATCHKEY_KEY_PUBLICATION_DELAY: '32' })), []);
  });

  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map((s) => s.cleanup())));

  it('verifiers warmed before `keys rotate` accept every token of the old and the new key', async (t) => {
    const safe: Timing = { keyPublicationDelaySec: 33, keyCacheSec: 1, jwksMaxAgeSec: 1 };
    assert.ok(safe.keyPublicationDelaySec >= minSafePublicationDelaySec(safe));
    const old: Timing = { keyPublicationDelaySec: 10, keyCacheSec: 5, jwksMaxAgeSec: 60 };
    // The server runs on the real clock here: the verifiers' cool-downs do too.
    const [a, b] = await Promise.all([
      startTestServer({ overrides: safe }),
      startTestServer({ overrides: old }),
    ]);
    servers.push(a, b);
    const jwks = await fetch(`${a.issuer}/jwks`);
    assert.equal(jwks.headers.get('cache-control'), 'public, max-age=1');
    assert.equal((await fetch(`${b.issuer}/jwks`)).headers.get('cache-control'), 'public, max-age=60');

    const [withRule, control] = await Promise.all([
      rotateAndVerify(a, safe, 5000),
      rotateAndVerify(b, old, 8000),
    ]);

    assert.deepEqual(withRule.refused, [], 'no valid token refused');
    assert.ok(withRule.kids.has(withRule.newKid), 'tokens of the new key were checked');
    assert.ok(withRule.kids.size === 2, 'tokens of the old key were checked');
    assert.ok(withRule.checked > 100, `${withRule.checked} verifications`);

    const first = control.refused.find((r) => r.kid === control.newKid);
    t.diagnostic(
      `rule: ${withRule.checked} verifications, none refused; old defaults: ${control.refused.length} refused, the first ${first?.at} ms after the new key began signing`,
    );
    // The control: with the old defaults both verifiers refuse tokens of the new key for a while.
    for (const name of ['jose createRemoteJWKSet', 'latchkey/resource']) {
      assert.ok(
        control.refused.some((r) => r.verifier === name && r.kid === control.newKid),
        `${name} refused new-key tokens with the old timing`,
      );
    }
  });
});
