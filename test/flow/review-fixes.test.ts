/**
 * Bugs found in review, each with its test: parallel sign-in attempts and the throttle,
 * introspection limited to entitled callers, a password reset locks out old sessions and
 * tokens, another client's attempt with a code, CORS preflight for userinfo/revoke,
 * redirect URIs written without `//`, a racing Deny leaves no consent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as oauth from 'oauth4webapi';
import { ClientInputError } from '../../src/admin/clients.js';
import { Browser, formOf } from '../helpers/browser.js';
import { basic, discover, obtainTokens, postForm } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

describe('review fixes', () => {
  let server: TestServer;
  let as: oauth.AuthorizationServer;
  before(async () => {
    server = await startTestServer();
    await createUser(server);
    as = await discover(server);
  });
  after(() => server.cleanup());

  const openSignIn = async (clientId: string, redirectUri: string) => {
    const browser = new Browser(server.url);
    const qs = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const start = await browser.get(`/authorize?${qs}`);
    const page = await browser.get(start.location!);
    const { csrf, actions } = formOf(page.body);
    return { browser, csrf, actions };
  };

  it('25 parallel wrong passwords check at most 5 passwords; the rest are throttled', async () => {
    await createUser(server, 'gina');
    const app = await createClient(server);
    const s = await openSignIn(app.clientId, app.redirectUri);
    const login = s.actions.find((a) => a.endsWith('/login'))!;
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        s.browser.post(login, { csrf: s.csrf, username: 'gina', password: `bad-${i}` }),
      ),
    );
    const checked = results.filter((r) => r.status === 401).length;
    const throttled = results.filter((r) => r.status === 429).length;
    assert.ok(checked <= 5, `at most 5 password checks, got ${checked}`);
    assert.equal(checked + throttled, 25);
    // The right password is refused while locked, and accepted after the lock.
    assert.equal(
      (await s.browser.post(login, { csrf: s.csrf, username: 'gina', password: PASSWORD })).status,
      429,
    );
    server.clock.advanceSeconds(301);
    assert.equal(
      (await s.browser.post(login, { csrf: s.csrf, username: 'gina', password: PASSWORD })).status,
      303,
    );
  });

  it('successful sign-ins do not count against the IP', async () => {
    const app = await createClient(server);
    for (let i = 0; i < 35; i++) {
      const s = await openSignIn(app.clientId, app.redirectUri);
      const r = await s.browser.post(s.actions.find((a) => a.endsWith('/login'))!, {
        csrf: s.csrf,
        username: 'alice',
        password: PASSWORD,
      });
      assert.equal(r.status, 303, `sign-in ${i}`);
    }
  });

  it('introspection: a web client sees only its own tokens; a service client (an API) sees all', async () => {
    const native = await createClient(server);
    const web = await createClient(server, { type: 'web', redirectUris: ['https://web.example/cb'] });
    const svc = await createClient(server, { type: 'service' });
    const { tokens } = await obtainTokens(server, as, native);
    const ask = (who: { clientId: string; secret?: string }, token: string) =>
      postForm(`${server.url}/introspect`, { token }, { authorization: basic(who.clientId, who.secret!) });
    assert.deepEqual((await ask(web, tokens.access_token)).json, { active: false });
    assert.deepEqual((await ask(web, tokens.refresh_token!)).json, { active: false });
    assert.equal((await ask(svc, tokens.access_token)).json['active'], true);
    assert.equal((await ask(svc, tokens.refresh_token!)).json['active'], true);
  });

  it('a new password ends the sessions and revokes the refresh tokens of the user', async () => {
    await createUser(server, 'hank');
    const app = await createClient(server);
    const { tokens, browser } = await obtainTokens(server, as, app, { username: 'hank' });
    await server.ctx.users.setPassword('hank', 'a brand new password');
    const refresh = await postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      client_id: app.clientId,
      refresh_token: tokens.refresh_token!,
    });
    assert.equal(refresh.json['error'], 'invalid_grant');
    const qs = new URLSearchParams({
      client_id: app.clientId,
      redirect_uri: app.redirectUri,
      response_type: 'code',
      prompt: 'none',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const again = await browser.get(`/authorize?${qs}`);
    assert.equal(new URL(again.location!).searchParams.get('error'), 'login_required');
  });

  it("another client presenting a used code does not revoke the real client's tokens", async () => {
    const app = await createClient(server);
    const other = await createClient(server);
    const verifier = 'v'.repeat(43);
    const { s256 } = await import('../../src/protocol/pkce.js');
    const browser = new Browser(server.url);
    const qs = new URLSearchParams({
      client_id: app.clientId,
      redirect_uri: app.redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
    });
    const { authorizeThroughBrowser } = await import('../helpers/browser.js');
    const final = await authorizeThroughBrowser(browser, `/authorize?${qs}`);
    const code = new URL(final.location!).searchParams.get('code')!;
    const good = await postForm(`${server.url}/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: app.redirectUri,
      client_id: app.clientId,
      code_verifier: verifier,
    });
    assert.equal(good.status, 200);
    const stolen = await postForm(`${server.url}/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: app.redirectUri,
      client_id: other.clientId,
      code_verifier: verifier,
    });
    assert.equal(stolen.json['error'], 'invalid_grant');
    const ui = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${good.json['access_token']}` },
    });
    assert.equal(ui.status, 200);
  });

  it('CORS preflight works for /userinfo and /revoke from a registered SPA origin', async () => {
    await createClient(server, { type: 'spa', redirectUris: ['https://spa.example/cb'] });
    for (const path of ['/userinfo', '/revoke', '/token']) {
      const r = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://spa.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
      assert.equal(r.status, 204, path);
      assert.equal(r.headers.get('access-control-allow-origin'), 'https://spa.example', path);
    }
  });

  it('redirect URIs must be written with an authority (https://…)', async () => {
    await assert.rejects(
      server.ctx.clients.create({ name: 'x', type: 'web', redirectUris: ['https:evil.example/cb'] }),
      ClientInputError,
    );
    await assert.rejects(
      server.ctx.clients.create({ name: 'x', type: 'native', redirectUris: ['http:127.0.0.1/cb'] }),
      ClientInputError,
    );
  });

  it('discovery does not advertise prompt=select_account', () => {
    assert.ok(
      !(
        as as Record<string, unknown> & { prompt_values_supported?: string[] }
      ).prompt_values_supported?.includes('select_account'),
    );
  });

  it('a Deny that wins the race against Allow leaves no consent behind', async () => {
    const app = await createClient(server, { consent: 'required' });
    await createUser(server, 'ivy');
    const s = await openSignIn(app.clientId, app.redirectUri);
    const signIn = await s.browser.post(s.actions.find((a) => a.endsWith('/login'))!, {
      csrf: s.csrf,
      username: 'ivy',
      password: PASSWORD,
    });
    const consentPage = await s.browser.get(signIn.location!);
    const { csrf, actions } = formOf(consentPage.body);
    const deny = await s.browser.post(actions[0]!, { csrf, decision: 'deny' });
    assert.equal(new URL(deny.location!).searchParams.get('error'), 'access_denied');
    const allow = await s.browser.post(actions[0]!, { csrf, decision: 'allow' });
    assert.equal(allow.status, 400);
    const ivy = (await server.ctx.storage.users.getByUsername('ivy'))!;
    assert.equal(await server.ctx.storage.consents.get(ivy.id, app.clientId), undefined);
  });
});
