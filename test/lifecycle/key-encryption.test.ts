/**
 * Signing keys sealed at rest with LATCHKEY_KEY_ENCRYPTION_KEY (src/tokens/key-encryption.ts):
 * the sealing itself, a server whose database holds no private key in the clear, what a missing
 * or wrong secret stops (start, new keys) and what it does not (public parts), and
 * `latchkey keys encrypt`.
 */
import assert from 'node:assert/strict';
import { createPublicKey, sign, verify } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { keyEncryptionKey, open, seal } from '../../src/tokens/key-encryption.js';
import { runCli } from '../helpers/cli.js';
import { spawnCli } from '../helpers/cli-process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SECRET = 'a-long-operator-secret-of-at-least-32-chars';
const OTHER = 'another-operator-secret-of-at-least-32-chars';

/** `latchkey serve` until it listens: what it printed on the way. */
async function serveOutput(db: string, env: Record<string, string>): Promise<string> {
  const child = spawnCli(
    ['serve', '--db', db, '--port', '0', '--host', '127.0.0.1', '--issuer', 'https://id.example'],
    {
      env: { LATCHKEY_LOG_LEVEL: 'silent', ...env },
    },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('Latchkey listening')) setTimeout(resolve, 200);
      });
      child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${out}\nstderr: ${err}`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  return out;
}

function storedPems(dbPath: string): Array<{ kid: string; rsa: string; ec: string | null }> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (
      db
        .prepare('select kid, private_pem, ec_private_pem from signing_keys order by generation')
        .all() as Array<{
        kid: string;
        private_pem: string;
        ec_private_pem: string | null;
      }>
    ).map((r) => ({ kid: r.kid, rsa: r.private_pem, ec: r.ec_private_pem }));
  } finally {
    db.close();
  }
}

describe('signing keys encrypted at rest', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.cleanup();
  });

  it('seal/open: round trip, bound to the kid, refused under another secret or when damaged', () => {
    const key = keyEncryptionKey(SECRET);
    const pem = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n';
    const sealed = seal(key, 'kid-1', pem);
    assert.match(sealed, /^enc:v1:[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes('PRIVATE KEY'));
    assert.notEqual(seal(key, 'kid-1', pem), sealed, 'a fresh IV each time');
    assert.equal(open(key, 'kid-1', sealed), pem);
    assert.equal(open(key, 'kid-1', pem), pem, 'a key stored in the clear passes through');
    assert.throws(() => open(key, 'kid-2', sealed), /does not open signing key kid-2/);
    assert.throws(
      () => open(keyEncryptionKey(OTHER), 'kid-1', sealed),
      /LATCHKEY_KEY_ENCRYPTION_KEY does not open/,
    );
    assert.throws(() => open(undefined, 'kid-1', sealed), /is encrypted: set LATCHKEY_KEY_ENCRYPTION_KEY/);
    // Damage that always differs from the original: one bit flipped in a decoded byte of the
    // ciphertext body (after the 12-byte IV) and of the tag (the last 16 bytes), re-encoded.
    // (Replacing a base64 character could put back the same one, 1 time in 64.)
    const damaged = (s: string, byte: (n: number) => number) => {
      const raw = Buffer.from(s.slice('enc:v1:'.length), 'base64url');
      raw[byte(raw.length)]! ^= 0x01;
      return `enc:v1:${raw.toString('base64url')}`;
    };
    for (let i = 0; i < 2000; i++) {
      const fresh = seal(key, 'kid-1', pem);
      for (const at of [(_n: number) => 12, (n: number) => n - 1]) {
        const bad = damaged(fresh, at);
        assert.notEqual(bad, fresh);
        assert.throws(() => open(key, 'kid-1', bad), /does not open/);
      }
    }
    assert.throws(() => open(key, 'kid-1', 'enc:v1:AAAA'), /damaged/);
  });

  it('a server with the secret stores no private key in the clear, and signs with its keys', async () => {
    const server = await startTestServer({ overrides: { keyEncryptionKey: SECRET } });
    servers.push(server);
    for (const row of storedPems(server.dbPath)) {
      assert.match(row.rsa, /^enc:v1:/);
      assert.match(row.ec ?? '', /^enc:v1:/);
    }
    const active = await server.ctx.keys.signingKey();
    const jwks = await (await fetch(`${server.url}/jwks`)).json();
    const jwk = (jwks as { keys: Array<{ kid: string }> }).keys.find((k) => k.kid === active.kid);
    assert.ok(jwk, 'published');
    const data = Buffer.from('payload');
    const signature = sign('sha256', data, active.privateKey);
    assert.equal(
      verify('sha256', data, createPublicKey({ key: jwk as never, format: 'jwk' }), signature),
      true,
    );
    await server.ctx.keys.rotate();
    assert.equal(storedPems(server.dbPath).length, 2);
    assert.ok(
      storedPems(server.dbPath).every((r) => r.rsa.startsWith('enc:v1:')),
      'rotated keys are sealed too',
    );
  });

  it('a missing or wrong secret stops a node at start and refuses new keys; public parts need none', async () => {
    const server = await startTestServer({ overrides: { keyEncryptionKey: SECRET } });
    servers.push(server);
    await server.stop();
    const db = server.dbPath;
    await assert.rejects(
      startTestServer({ dbPath: db }),
      /signing key \S+ is encrypted: set LATCHKEY_KEY_ENCRYPTION_KEY/,
    );
    await assert.rejects(
      startTestServer({ dbPath: db, overrides: { keyEncryptionKey: OTHER } }),
      /LATCHKEY_KEY_ENCRYPTION_KEY does not open signing key/,
    );
    const none = await runCli(['keys', 'rotate', '--db', db]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^latchkey: signing key \S+ is encrypted: set LATCHKEY_KEY_ENCRYPTION_KEY/);
    assert.equal(none.stderr.trim().split('\n').length, 1);
    const wrong = await runCli(['keys', 'rotate', '--db', db], {
      env: { LATCHKEY_KEY_ENCRYPTION_KEY: OTHER },
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /LATCHKEY_KEY_ENCRYPTION_KEY does not open signing key/);
    const wrongSeal = await runCli(['keys', 'encrypt', '--db', db], {
      env: { LATCHKEY_KEY_ENCRYPTION_KEY: OTHER },
    });
    assert.equal(wrongSeal.code, 1, 'keys encrypt checks its secret against the keys already sealed');
    assert.match(wrongSeal.stderr, /does not open signing key/);
    const short = await runCli(['keys', 'list', '--db', db], {
      env: { LATCHKEY_KEY_ENCRYPTION_KEY: 'short' },
    });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /LATCHKEY_KEY_ENCRYPTION_KEY must be at least 32 characters/);
    assert.equal(storedPems(db).length, 1, 'no key was added by the refused commands');
    const listed = await runCli(['keys', 'list', '--db', db, '--json']);
    assert.equal(listed.code, 0, 'listing public parts needs no secret');
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 1);
    const again = await startTestServer({ dbPath: db, overrides: { keyEncryptionKey: SECRET } });
    servers.push(again);
    const jwks = (await (await fetch(`${again.url}/jwks`)).json()) as { keys: unknown[] };
    assert.equal(jwks.keys.length, 2, 'RS256 and P-256 of the one generation');
  });

  it('latchkey keys encrypt seals keys written in the clear, once; the server then needs the secret', async () => {
    const server = await startTestServer();
    servers.push(server);
    await server.ctx.keys.rotate();
    await server.stop();
    const db = server.dbPath;
    assert.ok(
      storedPems(db).every((r) => r.rsa.includes('BEGIN PRIVATE KEY')),
      'in the clear without a secret',
    );
    const env = { LATCHKEY_KEY_ENCRYPTION_KEY: SECRET };
    assert.match(await serveOutput(db, {}), /NOTE: signing keys are stored unencrypted/);
    assert.match(await serveOutput(db, env), /NOTE: some signing keys are still stored in the clear/);
    const refused = await runCli(['keys', 'encrypt', '--db', db]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /set LATCHKEY_KEY_ENCRYPTION_KEY to encrypt/);
    const first = await runCli(['keys', 'encrypt', '--db', db, '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { encrypted: 2 });
    for (const row of storedPems(db)) {
      assert.match(row.rsa, /^enc:v1:/);
      assert.match(row.ec ?? '', /^enc:v1:/);
    }
    const again = await runCli(['keys', 'encrypt', '--db', db, '--json'], { env });
    assert.deepEqual(JSON.parse(again.stdout), { encrypted: 0 });
    assert.doesNotMatch(await serveOutput(db, env), /NOTE: .*(clear|unencrypted)/);
    const listed = await runCli(['keys', 'list', '--db', db, '--json'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 2);
    const audit = await runCli(['audit', 'list', '--type', 'keys_encrypted', '--db', db, '--json'], { env });
    assert.equal((JSON.parse(audit.stdout) as unknown[]).length, 1);
  });
});
