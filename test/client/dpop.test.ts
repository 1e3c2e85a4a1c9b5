/**
 * latchkey/client with DPoP (RFC 9449) against a real server over HTTP that requires nonces
 * (LATCHKEY_DPOP_NONCE): the code exchange, the refresh and the resource calls carry proofs of
 * the client's key (non-extractable by default), the tokens are bound to it (`cnf.jkt`), a
 * `use_dpop_nonce` answer is retried once — at /token (400) and at a resource (401 challenge) —
 * and the latest nonce per origin is remembered so the next request needs no retry. Also: the
 * proofs' claims, a key saved and read back, and a server without nonces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  DpopKey,
  LatchkeyClient,
  LatchkeyError,
  startLoopbackReceiver,
  type TokenSet,
} from '../../src/client/index.js';
import { DPOP_NONCE_WINDOW_SEC } from '../../src/protocol/dpop-nonce.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { type ServerFixture, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

interface Sent {
  url: string;
  status: number;
  dpop: string | null;
  authorization: string | null;
}

/** A fetch that records what the SDK sent and what it got. */
function recordingFetch(): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(init?.headers);
      sent.push({
        url: String(input),
        status: res.status,
        dpop: headers.get('dpop'),
        authorization: headers.get('authorization'),
      });
      return res;
    },
  };
}

async function signIn(s: ServerFixture, client: LatchkeyClient, scope: string): Promise<TokenSet> {
  const state = `s-${Math.random().toString(36).slice(2)}`;
  const receiver = await startLoopbackReceiver({ expectedState: state, timeoutMs: 10_000 });
  const request = await client.createAuthorizationRequest({
    redirectUri: receiver.redirectUri,
    scope,
    state,
  });
  const browser = new Browser(s.server.url);
  const final = await authorizeThroughBrowser(browser, request.url, { consent: 'allow' });
  assert.equal(final.status, 303, final.body.slice(0, 300));
  await browser.get(final.location!);
  return client.completeAuthorization(await receiver.wait(), request);
}

const isCode = (code: string) => (e: unknown) => e instanceof LatchkeyError && e.code === code;

describe('client SDK with DPoP, against a server that requires nonces', () => {
  const s = withServer({ users: ['alice'], overrides: { dpopNonce: true } });

  it('binds the tokens to its key, retries once on use_dpop_nonce, then sends the remembered nonce', async () => {
    const app = await createClient(s.server, { type: 'native' });
    const rec = recordingFetch();
    const client = await LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId: app.clientId,
      fetch: rec.fetch,
      now: () => s.server.clock.now(),
      dpop: true,
    });
    const key = (await client.dpopKey())!;
    assert.equal(key.alg, 'ES256');
    assert.equal(key.privateKey.extractable, false, 'the private key cannot be read by scripts');
    await assert.rejects(key.exportPrivateJwk(), isCode('LATCHKEY_DPOP_ERROR'));

    const tokens = await signIn(s, client, 'openid profile offline_access');
    assert.equal(tokens.tokenType, 'DPoP');
    assert.deepEqual(decodeJwt(tokens.accessToken)['cnf'], { jkt: key.thumbprint });
    const atToken = rec.sent.filter((r) => r.url.endsWith('/token'));
    assert.deepEqual(
      atToken.map((r) => r.status),
      [400, 200],
      'the first exchange is asked for a nonce, the retry succeeds',
    );
    const [first, second] = atToken.map((r) => r.dpop!);
    assert.equal(decodeJwt(first!)['nonce'], undefined);
    const header = decodeProtectedHeader(second!);
    assert.equal(header.typ, 'dpop+jwt');
    assert.equal(header.alg, 'ES256');
    assert.equal((header.jwk as Record<string, unknown>)['d'], undefined, 'no private part');
    const claims = decodeJwt(second!);
    assert.equal(claims['htm'], 'POST');
    assert.equal(claims['htu'], `${s.server.issuer}/token`);
    assert.equal(claims['nonce'], key.nonceFor(s.server.issuer));
    assert.ok(typeof claims['jti'] === 'string' && claims['jti'] !== decodeJwt(first!)['jti']);

    // The nonce is remembered: refresh and userinfo need no retry.
    rec.sent.length = 0;
    const refreshed = await client.refresh(tokens);
    assert.equal(refreshed.tokenType, 'DPoP');
    const info = await client.userinfo(refreshed, { expectedSubject: s.user.id });
    assert.equal(info['sub'], s.user.id);
    assert.deepEqual(
      rec.sent.map((r) => r.status),
      [200, 200],
    );
    const userinfoCall = rec.sent[1]!;
    assert.match(userinfoCall.authorization!, /^DPoP /);
    assert.ok(decodeJwt(userinfoCall.dpop!)['ath'], 'ath at a resource');

    // Two windows later the nonce is stale: the resource's 401 challenge is retried once, and so
    // is the token endpoint's 400.
    s.server.clock.advanceSeconds(2 * DPOP_NONCE_WINDOW_SEC);
    rec.sent.length = 0;
    assert.equal((await client.userinfo(refreshed))['sub'], s.user.id);
    assert.deepEqual(
      rec.sent.map((r) => r.status),
      [401, 200],
    );
    s.server.clock.advanceSeconds(2 * DPOP_NONCE_WINDOW_SEC);
    rec.sent.length = 0;
    const again = await client.refresh(refreshed);
    assert.equal(again.tokenType, 'DPoP');
    assert.deepEqual(
      rec.sent.map((r) => r.status),
      [400, 200],
    );
  });

  it('fetchResource calls an API with the DPoP scheme and a proof (query left out of htu)', async () => {
    const app = await createClient(s.server, { type: 'native' });
    const rec = recordingFetch();
    const client = await LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId: app.clientId,
      fetch: rec.fetch,
      now: () => s.server.clock.now(),
      dpop: await DpopKey.generate(),
    });
    const tokens = await signIn(s, client, 'openid profile');
    const api = buildSampleApi({
      issuer: s.server.issuer,
      verifierOptions: { now: () => s.server.clock.now() },
    });
    const base = await api.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await client.fetchResource(`${base}/profile?x=1#frag`, tokens);
      assert.equal(res.status, 200, await res.clone().text());
      const proof = decodeJwt(rec.sent.at(-1)!.dpop!);
      assert.equal(proof['htu'], `${base}/profile`);
      assert.equal(proof['htm'], 'GET');
      // The same token as a Bearer token is refused: it is bound.
      const asBearer = await client.fetchResource(`${base}/hello`, tokens, { tokenType: 'Bearer' });
      assert.equal(asBearer.status, 401);
      await assert.rejects(
        new LatchkeyClient({ metadata: client.metadata, clientId: app.clientId }).fetchResource(
          `${base}/hello`,
          tokens,
        ),
        isCode('LATCHKEY_INVALID_ARGUMENT'),
        'a DPoP token without a DPoP key',
      );
    } finally {
      await api.close();
    }
  });
});

describe('client SDK with DPoP, against a server without nonces', () => {
  const s = withServer({ users: ['alice'] });

  it('one request per exchange and refresh; a saved extractable key reads back with the same thumbprint', async () => {
    const app = await createClient(s.server, { type: 'native' });
    const saved = await (await DpopKey.generate({ extractable: true })).exportPrivateJwk();
    const key = await DpopKey.fromPrivateJwk(saved);
    const rec = recordingFetch();
    const client = await LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId: app.clientId,
      fetch: rec.fetch,
      now: () => s.server.clock.now(),
      dpop: key,
    });
    const tokens = await signIn(s, client, 'openid offline_access');
    assert.equal(tokens.tokenType, 'DPoP');
    const reread = await DpopKey.fromPrivateJwk(saved);
    assert.equal(reread.thumbprint, key.thumbprint);
    assert.deepEqual(decodeJwt(tokens.accessToken)['cnf'], { jkt: reread.thumbprint });
    // A new client with the key read back refreshes the bound refresh token.
    const later = new LatchkeyClient({
      metadata: client.metadata,
      clientId: app.clientId,
      now: () => s.server.clock.now(),
      dpop: reread,
    });
    assert.equal((await later.refresh(tokens)).tokenType, 'DPoP');
    assert.deepEqual(
      rec.sent.filter((r) => r.url.endsWith('/token')).map((r) => r.status),
      [200],
    );
    await assert.rejects(DpopKey.fromPrivateJwk({ kty: 'EC' }), isCode('LATCHKEY_INVALID_ARGUMENT'));
    assert.throws(
      () => new LatchkeyClient({ metadata: client.metadata, clientId: app.clientId, dpop: 'yes' as never }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
  });
});
