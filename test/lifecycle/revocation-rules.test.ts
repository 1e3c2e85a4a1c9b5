/**
 * Who may see and end which tokens: introspection limited to entitled callers, a new password
 * ends the user's sessions and refresh tokens, and another client presenting a used code cannot
 * revoke the real client's tokens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Browser } from '../helpers/browser.js';
import { basic, obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createClient, createUser } from '../helpers/server.js';

describe('token visibility and revocation', () => {
  const s = withServer({ users: ['alice'], discover: true });

  it('introspection: a web client sees only its own tokens; a service client (an API) sees all', async () => {
    const native = await createClient(s.server);
    const web = await createClient(s.server, { type: 'web', redirectUris: ['https://web.example/cb'] });
    const svc = await createClient(s.server, { type: 'service' });
    const { tokens } = await obtainTokens(s.server, s.as, native);
    const ask = (who: { clientId: string; secret?: string }, token: string) =>
      postForm(`${s.server.url}/introspect`, { token }, { authorization: basic(who.clientId, who.secret!) });
    assert.deepEqual((await ask(web, tokens.access_token)).json, { active: false });
    assert.deepEqual((await ask(web, tokens.refresh_token!)).json, { active: false });
    assert.equal((await ask(svc, tokens.access_token)).json['active'], true);
    assert.equal((await ask(svc, tokens.refresh_token!)).json['active'], true);
  });

  it('a new password ends the sessions and revokes the refresh tokens of the user', async () => {
    await createUser(s.server, 'hank');
    const app = await createClient(s.server);
    const { tokens, browser } = await obtainTokens(s.server, s.as, app, { username: 'hank' });
    await s.server.ctx.users.setPassword('hank', 'a brand new password');
    const refresh = await postForm(`${s.server.url}/token`, {
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
    const app = await createClient(s.server);
    const other = await createClient(s.server);
    const verifier = 'v'.repeat(43);
    const { s256 } = await import('../../src/protocol/pkce.js');
    const browser = new Browser(s.server.url);
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
    const good = await postForm(`${s.server.url}/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: app.redirectUri,
      client_id: app.clientId,
      code_verifier: verifier,
    });
    assert.equal(good.status, 200);
    const stolen = await postForm(`${s.server.url}/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: app.redirectUri,
      client_id: other.clientId,
      code_verifier: verifier,
    });
    assert.equal(stolen.json['error'], 'invalid_grant');
    const ui = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${good.json['access_token']}` },
    });
    assert.equal(ui.status, 200);
  });
});
