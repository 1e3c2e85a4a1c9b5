/** Configuration validation, the injectable clock, and the token module checked with jose. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createServer } from '../../src/server.js';
import { databaseForTests } from '../../src/storage/index.js';
import { atHash } from '../../src/tokens/mint.js';
import { startTestServer, type TestServer, tempDir } from '../helpers/server.js';

describe('configuration', () => {
  it('defaults, env fallbacks and flags', () => {
    const d = loadConfig({}, {});
    assert.equal(d.port, 3000);
    assert.equal(d.issuer, 'http://localhost:3000');
    assert.equal(d.database, './data/latchkey.db');
    assert.equal(d.audience, 'api://default');
    assert.equal(d.codeTtlSec, 60);
    assert.equal(d.accessTokenTtlSec, 3600);
    const e = loadConfig(
      {},
      { PORT: '4000', LATCHKEY_DATABASE: '/tmp/x.db', LATCHKEY_AUDIENCE: 'api://orders' },
    );
    assert.equal(e.issuer, 'http://localhost:4000');
    assert.equal(e.database, '/tmp/x.db');
    assert.equal(e.audience, 'api://orders');
    const f = loadConfig({ port: '5000', issuer: 'https://id.example.com/' }, { PORT: '4000' });
    assert.equal(f.port, 5000);
    assert.equal(f.issuer, 'https://id.example.com', 'trailing slash dropped');
  });

  it('a bad setting is one line naming it', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /PORT/],
      [{ LATCHKEY_ISSUER: 'not a url' }, /LATCHKEY_ISSUER/],
      [{ LATCHKEY_ISSUER: 'https://id.example.com/?x=1' }, /LATCHKEY_ISSUER.*query/],
      [{ LATCHKEY_CODE_TTL: '0' }, /LATCHKEY_CODE_TTL/],
      [{ LATCHKEY_TRUST_PROXY: 'maybe' }, /LATCHKEY_TRUST_PROXY/],
      [{ LATCHKEY_LOG_LEVEL: 'loud' }, /LATCHKEY_LOG_LEVEL/],
      [{ LATCHKEY_SESSION_IDLE_TTL: '90000', LATCHKEY_SESSION_TTL: '3600' }, /LATCHKEY_SESSION_IDLE_TTL/],
    ];
    for (const [env, re] of cases) {
      assert.throws(
        () => loadConfig({}, env),
        (err: unknown) => err instanceof ConfigError && re.test(err.message) && !err.message.includes('\n'),
        JSON.stringify(env),
      );
    }
  });

  it('the SQLite page cache is 2 MiB unless LATCHKEY_SQLITE_CACHE_MIB says otherwise', async () => {
    assert.equal(loadConfig({}, {}).sqliteCacheMib, 2);
    assert.throws(() => loadConfig({}, { LATCHKEY_SQLITE_CACHE_MIB: '0' }), /LATCHKEY_SQLITE_CACHE_MIB/);
    const dir = tempDir();
    for (const [env, kib] of [
      [{}, -2048],
      [{ LATCHKEY_SQLITE_CACHE_MIB: '32' }, -32768],
    ] as const) {
      const s = await createServer(loadConfig({ database: `${dir}/cache.db`, logLevel: 'silent' }, env));
      try {
        const { sql } = await import('kysely');
        const r = await sql<{ cache_size: number }>`pragma cache_size`.execute(
          databaseForTests(s.ctx.storage),
        );
        assert.equal(r.rows[0]?.cache_size, kib);
      } finally {
        await s.close();
      }
    }
  });

  it('a spawned-style server takes a clock offset', async () => {
    const dir = tempDir();
    const s = await createServer(
      loadConfig({ database: `${dir}/c.db`, clockOffsetSec: 3600, logLevel: 'silent' }, {}),
    );
    try {
      const skew = s.ctx.clock.now() - Date.now();
      assert.ok(skew > 3590_000 && skew < 3610_000, String(skew));
    } finally {
      await s.close();
    }
  });
});

describe('token module', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ overrides: { audience: 'api://orders' } });
  });
  after(() => server.cleanup());

  const keySet = async () =>
    createLocalJWKSet((await server.ctx.keys.jwks()) as Parameters<typeof createLocalJWKSet>[0]);

  it('mints RFC 9068 access tokens that jose verifies', async () => {
    const at = await server.ctx.minter.accessToken({
      sub: 'user-1',
      grantId: 'grant-1',
      clientId: 'client-1',
      scope: 'openid email',
      ttlSec: 600,
      authTime: server.clock.now(),
    });
    const header = decodeProtectedHeader(at.token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid);
    const { payload } = await jwtVerify(at.token, await keySet(), {
      issuer: server.issuer,
      audience: 'api://orders',
      typ: 'at+jwt',
      currentDate: new Date(server.clock.now()),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
    });
    assert.equal(payload.sub, 'user-1');
    assert.equal(payload['client_id'], 'client-1');
    assert.equal(payload['scope'], 'openid email');
    assert.equal(payload.exp! - payload.iat!, 600);
    assert.notEqual(payload.aud, 'client-1');
    assert.equal(payload.jti, at.jti);
    assert.match(at.jti, /^grant-1\.[A-Za-z0-9_-]{22}$/, 'the jti names the grant (tokens/jti.ts)');
  });

  it('mints ID tokens with nonce, auth_time, sid and a correct at_hash', async () => {
    const authTime = server.clock.now() - 5000;
    const access = 'an.access.token';
    const id = await server.ctx.minter.idToken({
      sub: 'user-1',
      clientId: 'client-1',
      nonce: 'n-1',
      authTime,
      sid: 'sid-1',
      accessToken: access,
      ttlSec: 300,
    });
    const { payload, protectedHeader } = await jwtVerify(id, await keySet(), {
      issuer: server.issuer,
      audience: 'client-1',
      currentDate: new Date(server.clock.now()),
    });
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(payload['nonce'], 'n-1');
    assert.equal(payload['sid'], 'sid-1');
    assert.equal(payload['auth_time'], Math.floor(authTime / 1000));
    const half = createHash('sha256').update(access).digest().subarray(0, 16).toString('base64url');
    assert.equal(payload['at_hash'], half);
    assert.equal(atHash(access), half);
  });

  it('tokens expire by the injected clock', async () => {
    const at = await server.ctx.minter.accessToken({
      sub: 'u',
      grantId: null,
      clientId: 'c',
      scope: '',
      ttlSec: 60,
    });
    await assert.rejects(
      jwtVerify(at.token, await keySet(), { currentDate: new Date(server.clock.now() + 61_000) }),
      /exp/,
    );
  });

  it('the JWKS publishes public parts only, with kid, alg and use', async () => {
    const res = await fetch(`${server.url}/jwks`);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    assert.ok(jwks.keys.length >= 1);
    // Each generation: its RS256 key, and its P-256 key for LATCHKEY_ACCESS_TOKEN_ALG=ES256.
    assert.deepEqual(
      new Set(jwks.keys.map((k) => `${k['kty']} ${k['alg']}`)),
      new Set(['RSA RS256', 'EC ES256']),
    );
    for (const k of jwks.keys) {
      if (k['kty'] === 'EC') assert.equal(k['crv'], 'P-256');
      assert.equal(k['use'], 'sig');
      assert.ok(k['kid']);
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(k[priv], undefined);
    }
  });

  it('discovery is truthful and the same on both well-known paths', async () => {
    const a = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    const b = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(a, b);
    assert.equal(a['issuer'], server.issuer);
    assert.deepEqual(a['code_challenge_methods_supported'], ['S256']);
    assert.equal(a['authorization_response_iss_parameter_supported'], true);
    for (const key of [
      'authorization_endpoint',
      'token_endpoint',
      'jwks_uri',
      'userinfo_endpoint',
      'revocation_endpoint',
      'introspection_endpoint',
      'end_session_endpoint',
    ]) {
      const url = new URL(String(a[key]));
      const probe = await fetch(`${server.url}${url.pathname}`, {
        method: key === 'jwks_uri' || key === 'authorization_endpoint' ? 'GET' : 'POST',
        redirect: 'manual',
      });
      assert.notEqual(probe.status, 404, `${key} exists`);
    }
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});
