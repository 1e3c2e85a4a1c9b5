/** PKCE (RFC 7636) in the client SDK, and the browser-safety of its core. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { computeChallenge, createPkcePair, LatchkeyError, VERIFIER_PATTERN } from '../../src/client/index.js';

describe('client PKCE', () => {
  it('reproduces the RFC 7636 Appendix B test vector', async () => {
    assert.equal(
      await computeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('creates fresh verifiers of 43–128 unreserved characters with a matching S256 challenge', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = await createPkcePair();
      assert.equal(p.method, 'S256');
      assert.match(p.verifier, VERIFIER_PATTERN);
      assert.ok(p.verifier.length >= 43 && p.verifier.length <= 128);
      assert.equal(p.challenge, await computeChallenge(p.verifier));
      assert.match(p.challenge, /^[A-Za-z0-9_-]{43}$/);
      seen.add(p.verifier);
    }
    assert.equal(seen.size, 50, 'no verifier repeats');
  });

  it('rejects a verifier outside RFC 7636 §4.1 with LATCHKEY_INVALID_ARGUMENT', async () => {
    for (const bad of ['short', 'a'.repeat(129), `${'a'.repeat(42)}!`, `${'a'.repeat(43)} `]) {
      await assert.rejects(
        computeChallenge(bad),
        (e: unknown) => e instanceof LatchkeyError && e.code === 'LATCHKEY_INVALID_ARGUMENT',
      );
    }
    assert.equal(await computeChallenge('~'.repeat(128)), await computeChallenge('~'.repeat(128)));
  });

  it('keeps node-only modules out of the browser-safe core', () => {
    const dir = join(import.meta.dirname, '../../src/client');
    for (const f of [
      'index.ts',
      'client.ts',
      'challenge.ts',
      'dpop.ts',
      'pkce.ts',
      'encoding.ts',
      'errors.ts',
    ]) {
      const src = readFileSync(join(dir, f), 'utf8');
      const staticImports = [...src.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)]
        .filter((m) => !/^(import|export)\s+type\s/.test(m[0]))
        .map((m) => m[1]!);
      for (const spec of staticImports) {
        assert.ok(!spec.startsWith('node:'), `${f} imports ${spec}`);
        assert.ok(!['./loopback.js', './token-store.js', './node.js'].includes(spec), `${f} imports ${spec}`);
      }
      assert.ok(!/\bBuffer\b/.test(src), `${f} uses Buffer`);
    }
  });
});
