/**
 * Client authentication with JWTs (RFC 7523 §2.2, OIDC Core §9) through real HTTP:
 * oauth4webapi's PrivateKeyJwt (keys inline and at a jwks_uri served on loopback) and
 * ClientSecretJwt complete the flow and use /par, /revoke and /introspect; every rejection rule
 * of src/protocol/client-assertion.ts has a case, answered 401 invalid_client, never a 500.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { JWT_BEARER_ASSERTION } from '../../src/protocol/client-assertion.js';
import { assertRfcError, getPushedCode, insecure, pkce, postForm, withServer } from '../helpers/flow.js';

const REDIRECT = 'https://rp.example.com/cb';
const KEK = 'test-key-encryption-key-0123456789abcdef';

type Keys = { privateKey: CryptoKey; publicJwk: JWK };

async function keyPair(alg: 'ES256' | 'PS256' | 'RS256' | 'EdDSA', kid: string): Promise<Keys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

describe('client authentication with JWTs (private_key_jwt, client_secret_jwt)', () => {
  const s = withServer({
    users: ['alice'],
    discover: true,
    overrides: { keyEncryptionKey: KEK, fetchAllowLoopback: true },
  });
  let es: Keys;
  let ps: Keys;
  let other: Keys;
  let jwksServer: Server;
  let jwksUrl: string;
  let published: JWK[] = [];
  let fetches = 0;

  before(async () => {
    es = await keyPair('ES256', 'es-1');
    ps = await keyPair('PS256', 'ps-1');
    other = await keyPair('ES256', 'es-other');
    jwksServer = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  });
  after(() => new Promise<void>((r) => jwksServer.close(() => r())));

  const createApp = async (input: Record<string, unknown>) =>
    s.server.ctx.clients.create({ name: 'JWT app', type: 'web', redirectUris: [REDIRECT], ...input });

  /** A full code flow with `auth`, then the refresh token revoked and the access token introspected. */
  async function flowWith(clientId: string, auth: oauth.ClientAuth): Promise<void> {
    const client: oauth.Client = { client_id: clientId };
    const p = pkce();
    const state = oauth.generateRandomState();
    const pushed = await oauth.pushedAuthorizationRequest(
      s.as,
      client,
      auth,
      {
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid offline_access',
        code_challenge: p.challenge,
        code_challenge_method: 'S256',
        state,
      },
      insecure,
    );
    const par = await oauth.processPushedAuthorizationResponse(s.as, client, pushed);
    const got = await getPushedCode(s.server, { clientId, redirectUri: REDIRECT }, p, par.request_uri);
    const params = oauth.validateAuthResponse(s.as, client, got.url, state);
    const res = await oauth.authorizationCodeGrantRequest(
      s.as,
      client,
      auth,
      params,
      REDIRECT,
      p.verifier,
      insecure,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(s.as, client, res);
    assert.ok(tokens.refresh_token);
    const intro = await oauth.introspectionRequest(s.as, client, auth, tokens.access_token, insecure);
    const body = await oauth.processIntrospectionResponse(s.as, client, intro);
    assert.equal(body.active, true);
    assert.equal(body.client_id, clientId);
    const revoked = await oauth.revocationRequest(s.as, client, auth, tokens.refresh_token, insecure);
    await oauth.processRevocationResponse(revoked);
    const again = await oauth.refreshTokenGrantRequest(s.as, client, auth, tokens.refresh_token, insecure);
    await assert.rejects(
      oauth.processRefreshTokenResponse(s.as, client, again),
      (e: { error?: string }) => e.error === 'invalid_grant',
    );
  }

  it('discovery lists both methods and their algorithms', () => {
    const as = s.as as Record<string, unknown>;
    for (const field of ['token_endpoint', 'revocation_endpoint', 'introspection_endpoint']) {
      const methods = as[`${field}_auth_methods_supported`] as string[];
      assert.ok(methods.includes('private_key_jwt') && methods.includes('client_secret_jwt'), field);
      const algs = as[`${field}_auth_signing_alg_values_supported`] as string[];
      assert.deepEqual([...algs].sort(), ['ES256', 'EdDSA', 'HS256', 'PS256', 'RS256']);
    }
  });

  it('private_key_jwt with inline jwks: /par, /token, /introspect, /revoke (oauth4webapi)', async () => {
    const { client } = await createApp({
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [es.publicJwk, ps.publicJwk] },
    });
    assert.equal(client.secretHash, null, 'no secret exists for this application');
    await flowWith(client.clientId, oauth.PrivateKeyJwt({ key: es.privateKey, kid: 'es-1' }));
    await flowWith(client.clientId, oauth.PrivateKeyJwt({ key: ps.privateKey, kid: 'ps-1' }));
  });

  it('private_key_jwt with jwks_uri: fetched, cached, fetched again for a new kid', async () => {
    published = [es.publicJwk];
    const { client } = await createApp({ tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: jwksUrl });
    fetches = 0;
    await flowWith(client.clientId, oauth.PrivateKeyJwt({ key: es.privateKey, kid: 'es-1' }));
    assert.equal(fetches, 1, 'one fetch serves the whole flow (cached)');
    // The client rotates: a kid the cache lacks makes the server fetch again (once in 30 s).
    published = [es.publicJwk, other.publicJwk];
    s.server.clock.advance(31_000);
    await flowWith(client.clientId, oauth.PrivateKeyJwt({ key: other.privateKey, kid: 'es-other' }));
    assert.equal(fetches, 2);
  });

  it('client_secret_jwt: the secret sealed at rest, HS256 assertions (oauth4webapi)', async () => {
    const { client, secret } = await createApp({ tokenEndpointAuthMethod: 'client_secret_jwt' });
    assert.ok(secret);
    assert.match(client.secretSealed ?? '', /^enc:v1:/);
    assert.ok(!client.secretSealed?.includes(secret), 'not stored in the clear');
    await flowWith(client.clientId, oauth.ClientSecretJwt(secret));
    // The same secret as Basic is not this application's method.
    const basic = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, code_verifier: 'v'.repeat(43) },
      { authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}` },
    );
    assertRfcError(basic, 401, 'invalid_client');
  });

  it('client_secret_jwt cannot be chosen without LATCHKEY_KEY_ENCRYPTION_KEY', async () => {
    const plain = withoutKek();
    await assert.rejects(
      plain.create({
        name: 'x',
        type: 'web',
        redirectUris: [REDIRECT],
        tokenEndpointAuthMethod: 'client_secret_jwt',
      }),
      /client_secret_jwt needs LATCHKEY_KEY_ENCRYPTION_KEY/,
    );
  });

  const withoutKek = () => {
    const Admin = s.server.ctx.clients.constructor as new (...args: unknown[]) => typeof s.server.ctx.clients;
    return new Admin(s.server.ctx.storage.clients, s.server.clock);
  };

  describe('every rejection is 401 invalid_client', () => {
    let clientId: string;
    let hsClientId: string;
    let hsSecret: string;
    before(async () => {
      clientId = (
        await createApp({ tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [es.publicJwk] } })
      ).client.clientId;
      const hs = await createApp({ tokenEndpointAuthMethod: 'client_secret_jwt' });
      hsClientId = hs.client.clientId;
      hsSecret = hs.secret!;
    });

    const nowSec = () => Math.floor(s.server.clock.now() / 1000);
    const claims = (over: Record<string, unknown> = {}) => ({
      iss: clientId,
      sub: clientId,
      aud: s.server.issuer,
      jti: randomUUID(),
      iat: nowSec(),
      exp: nowSec() + 60,
      ...over,
    });
    const sign = (
      payload: Record<string, unknown>,
      key: CryptoKey | Uint8Array = es.privateKey,
      alg = 'ES256',
    ) => new SignJWT(payload).setProtectedHeader({ alg, kid: 'es-1' }).sign(key);
    const introspectWith = (form: Record<string, string>) =>
      postForm(`${s.server.url}/introspect`, { token: 'anything', ...form });
    const assertion = (jwt: string, extra: Record<string, string> = {}) =>
      introspectWith({ client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: jwt, ...extra });

    it('a valid assertion passes (the baseline of the cases below)', async () => {
      const r = await assertion(await sign(claims()));
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json['active'], false);
    });

    it('the same jti twice: replay refused', async () => {
      const jwt = await sign(claims());
      assert.equal((await assertion(jwt)).status, 200);
      const again = await assertion(jwt);
      assertRfcError(again, 401, 'invalid_client');
      assert.match(String(again.json['error_description']), /used before/);
    });

    const cases: [string, () => Promise<string>, RegExp?][] = [
      ['aud another server', () => sign(claims({ aud: 'https://other.example.com' })), /aud/],
      [
        'aud a list holding the issuer',
        () => sign(claims({ aud: [s.server.issuer, 'https://x.example'] })),
        /single string/,
      ],
      ['expired', () => sign(claims({ exp: nowSec() - 120, iat: nowSec() - 180 })), /expired/],
      ['exp an hour away', () => sign(claims({ exp: nowSec() + 3600 })), /more than 300 s/],
      ['no exp', () => sign(claims({ exp: undefined })), /exp/],
      ['no jti', () => sign(claims({ jti: undefined })), /jti/],
      ['iss another client', () => sign(claims({ iss: 'someone-else' })), /iss/],
      ['iat in the future', () => sign(claims({ iat: nowSec() + 120, exp: nowSec() + 200 })), /iat/],
      ['signed by a key not registered', () => sign(claims(), other.privateKey)],
      ['alg none', async () => `${b64({ alg: 'none' })}.${b64(claims())}.`],
      [
        'HS256 with a guessed secret for a private_key_jwt app',
        () => sign(claims(), new TextEncoder().encode('x'.repeat(32)), 'HS256'),
      ],
      [
        'a tampered payload',
        async () => {
          const [h, , sig] = (await sign(claims())).split('.');
          return `${h}.${b64(claims({ sub: clientId, scope: 'admin' }))}.${sig}`;
        },
      ],
      ['not a JWT', async () => 'not-a-jwt'],
      [
        'a JSON payload that is not an object',
        async () => `${b64({ alg: 'ES256' })}.${Buffer.from('[1]').toString('base64url')}.x`,
      ],
    ];
    for (const [name, make, message] of cases) {
      it(name, async () => {
        const r = await assertion(await make());
        assertRfcError(r, 401, 'invalid_client');
        if (message) assert.match(String(r.json['error_description']), message);
      });
    }

    it('an oversized assertion is refused before it is read (400 invalid_request)', async () => {
      const r = await assertion(`${'a'.repeat(9000)}.${'b'.repeat(10)}.${'c'.repeat(10)}`);
      assertRfcError(r, 400, 'invalid_request');
    });

    it('the token endpoint URL as aud is accepted (OIDC Core §9), not another endpoint of another server', async () => {
      assert.equal((await assertion(await sign(claims({ aud: `${s.server.issuer}/token` })))).status, 200);
      assert.equal(
        (await assertion(await sign(claims({ aud: `${s.server.issuer}/introspect` })))).status,
        200,
      );
      assertRfcError(
        await assertion(await sign(claims({ aud: `${s.server.issuer}/revoke` }))),
        401,
        'invalid_client',
      );
    });

    it('a wrong client_assertion_type, a client_id naming another client, a secret beside it', async () => {
      const jwt = await sign(claims());
      assertRfcError(
        await introspectWith({ client_assertion_type: 'urn:example:saml', client_assertion: jwt }),
        401,
        'invalid_client',
      );
      assertRfcError(await assertion(await sign(claims()), { client_id: hsClientId }), 401, 'invalid_client');
      assertRfcError(await assertion(await sign(claims()), { client_secret: 'x' }), 400, 'invalid_request');
      assertRfcError(
        await introspectWith({ client_assertion_type: JWT_BEARER_ASSERTION }),
        401,
        'invalid_client',
      );
    });

    it('an unknown client and a bad signature read the same (no probing)', async () => {
      const unknown = await assertion(await sign(claims({ iss: 'nobody', sub: 'nobody' })));
      const badSig = await assertion(await sign(claims(), other.privateKey));
      assert.deepEqual(unknown.json, badSig.json);
    });

    it('client_secret_jwt: the right secret passes, another is refused, RS256 is not a MAC', async () => {
      const hsClaims = () => claims({ iss: hsClientId, sub: hsClientId });
      const key = new TextEncoder().encode(hsSecret);
      assert.equal((await assertion(await sign(hsClaims(), key, 'HS256'))).status, 200);
      assertRfcError(
        await assertion(await sign(hsClaims(), new TextEncoder().encode(`${hsSecret}x`), 'HS256')),
        401,
        'invalid_client',
      );
      assertRfcError(await assertion(await sign(hsClaims())), 401, 'invalid_client');
    });

    it('a private_key_jwt application cannot use a secret or none', async () => {
      const r = await introspectWith({ client_id: clientId, client_secret: 'guess' });
      assertRfcError(r, 401, 'invalid_client');
      const pub = await postForm(`${s.server.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: clientId,
      });
      assertRfcError(pub, 401, 'invalid_client');
    });
  });
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
