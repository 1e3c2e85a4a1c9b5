/** LATCHKEY_ACCESS_TOKEN_ALG=ES256: ES256 access tokens, RS256 ID tokens, one key generation. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createVerifier } from '../../src/resource/index.js';
import { databaseForTests } from '../../src/storage/index.js';
import { KeyManager } from '../../src/tokens/keys.js';
import { basic, discover, obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createClient, createUser, startTestServer, type TestServer } from '../helpers/server.js';

const jwks = async (server: TestServer) =>
  (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };

describe('ES256 access tokens', () => {
  const s = withServer({ overrides: { accessTokenAlg: 'ES256' }, users: ['alice'], discover: true, app: {} });
  let service: Awaited<ReturnType<typeof createClient>>;

  before(async () => {
    service = await createClient(s.server, { type: 'service', allowedScopes: ['orders:read'] });
  });

  it('the JWKS publishes the generation as an RS256 and a P-256 key', async () => {
    const { keys } = await jwks(s.server);
    assert.deepEqual(keys.map((k) => [k['kty'], k['alg'], k['use']]).sort(), [
      ['EC', 'ES256', 'sig'],
      ['RSA', 'RS256', 'sig'],
    ]);
    const ec = keys.find((k) => k['kty'] === 'EC')!;
    assert.equal(ec['crv'], 'P-256');
    assert.equal(ec['d'], undefined, 'public part only');
  });

  it('access tokens are ES256 (RFC 9068), ID tokens stay RS256; both verify against the JWKS', async () => {
    const { tokens } = await obtainTokens(s.server, s.as, s.app);
    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    const keySet = createLocalJWKSet((await jwks(s.server)) as Parameters<typeof createLocalJWKSet>[0]);
    const { payload } = await jwtVerify(tokens.access_token, keySet, {
      issuer: s.server.issuer,
      audience: 'api://default',
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(s.server.clock.now()),
    });
    assert.equal(payload['client_id'], s.app.clientId);
    assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'RS256');
    // A refreshed access token is ES256 too.
    const refreshed = await postForm(`${s.server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: s.app.clientId,
    });
    assert.equal(refreshed.status, 200);
    assert.equal(decodeProtectedHeader(String(refreshed.json['access_token'])).alg, 'ES256');
  });

  it('the resource SDK, userinfo, introspection and revocation take them', async () => {
    const { tokens } = await obtainTokens(s.server, s.as, s.app);
    const verifier = createVerifier({
      issuer: s.server.issuer,
      audience: 'api://default',
      now: () => s.server.clock.now(),
    });
    const verified = await verifier.verify(tokens.access_token);
    assert.equal(verified.claims.client_id, s.app.clientId);
    assert.equal(verified.header.alg, 'ES256');
    const rsOnly = createVerifier({
      issuer: s.server.issuer,
      audience: 'api://default',
      algorithms: ['RS256'],
      now: () => s.server.clock.now(),
    });
    await assert.rejects(rsOnly.verify(tokens.access_token), /the algorithm ES256 is not allowed/);

    const info = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(info.status, 200);
    const introspect = () =>
      postForm(
        `${s.server.url}/introspect`,
        { token: tokens.access_token },
        { authorization: basic(service.clientId, service.secret!) },
      );
    assert.equal((await introspect()).json['active'], true);
    const revoked = await postForm(`${s.server.url}/revoke`, {
      token: tokens.access_token,
      client_id: s.app.clientId,
    });
    assert.equal(revoked.status, 200);
    assert.equal((await introspect()).json['active'], false);
  });

  it('a database whose keys have no ES256 part rotates once; RS256 until the new key is active', async () => {
    const first = await startTestServer();
    const dbPath = first.dbPath;
    await createUser(first);
    const legacyApp = await createClient(first);
    // A generation made before keys had an ES256 part (migration 0006).
    await databaseForTests(first.ctx.storage)
      .updateTable('signing_keys')
      .set({ ec_kid: null, ec_private_pem: null, ec_public_jwk: null })
      .execute();
    await first.stop();
    const second = await startTestServer({ dbPath, overrides: { accessTokenAlg: 'ES256' } });
    try {
      const keys = await second.ctx.keys.list();
      assert.deepEqual(
        keys.map((k) => [k.generation, k.ec !== null]),
        [
          [2, true],
          [1, false],
        ],
      );
      const as2 = await discover(second);
      const before = await obtainTokens(second, as2, legacyApp);
      assert.equal(decodeProtectedHeader(before.tokens.access_token).alg, 'RS256');
      // After the publication delay and the key cache: ES256, and the RS256 token still verifies.
      second.clock.advanceSeconds(
        second.ctx.config.keyPublicationDelaySec + second.ctx.config.keyCacheSec + 1,
      );
      const afterRotation = await obtainTokens(second, as2, legacyApp);
      assert.equal(decodeProtectedHeader(afterRotation.tokens.access_token).alg, 'ES256');
      const info = await fetch(`${second.url}/userinfo`, {
        headers: { authorization: `Bearer ${before.tokens.access_token}` },
      });
      assert.equal(info.status, 200);
      // Starting again does not rotate again.
      assert.equal(await second.ctx.keys.ensureKey({ ecRequired: true }), undefined);
    } finally {
      await second.cleanup();
      await first.cleanup();
    }
  });
});

describe('ES256 key upgrade, two nodes at once', () => {
  it('two nodes starting with ES256 on old keys make one new generation between them', async () => {
    const server = await startTestServer();
    try {
      await databaseForTests(server.ctx.storage)
        .updateTable('signing_keys')
        .set({ ec_kid: null, ec_private_pem: null, ec_public_jwk: null })
        .execute();
      const timings = { publicationDelaySec: 10, cacheSec: 5, maxTokenLifetimeSec: 86400 };
      const nodes = [1, 2, 3].map(() => new KeyManager(server.ctx.storage.keys, server.clock, timings));
      const made = await Promise.all(nodes.map((k) => k.ensureKey({ ecRequired: true })));
      assert.equal(made.filter(Boolean).length, 1);
      const keys = await server.ctx.keys.list();
      assert.deepEqual(
        keys.map((k) => [k.generation, k.ec !== null]),
        [
          [2, true],
          [1, false],
        ],
      );
    } finally {
      await server.cleanup();
    }
  });
});

describe('LATCHKEY_ACCESS_TOKEN_ALG', () => {
  it('is RS256 or ES256', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.js');
    assert.equal(loadConfig({}, {}).accessTokenAlg, 'RS256');
    assert.equal(loadConfig({}, { LATCHKEY_ACCESS_TOKEN_ALG: 'ES256' }).accessTokenAlg, 'ES256');
    assert.throws(
      () => loadConfig({}, { LATCHKEY_ACCESS_TOKEN_ALG: 'HS256' }),
      (e: unknown) => e instanceof ConfigError && /LATCHKEY_ACCESS_TOKEN_ALG/.test(e.message),
    );
  });
});
