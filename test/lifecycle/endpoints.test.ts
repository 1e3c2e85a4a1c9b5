/** Client credentials, revocation (RFC 7009), introspection (RFC 7662), userinfo (OIDC Core §5.3). */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { AdminActions } from '../../src/admin/actions.js';
import { CLOCK_SKEW_SEC } from '../../src/tokens/clock-rules.js';
import { basic, insecure, obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('token endpoints around the flow', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let service: { clientId: string; secret?: string };

  before(async () => {
    service = await createClient(s.server, {
      type: 'service',
      allowedScopes: ['orders:read', 'orders:write'],
    });
  });

  const introspect = (token: string) =>
    postForm(
      `${s.server.url}/introspect`,
      { token },
      { authorization: basic(service.clientId, service.secret!) },
    );

  it('client credentials: sub is the client, requested scopes, no ID or refresh token', async () => {
    const client: oauth.Client = { client_id: service.clientId };
    const res = await oauth.clientCredentialsGrantRequest(
      s.as,
      client,
      oauth.ClientSecretBasic(service.secret!),
      new URLSearchParams({ scope: 'orders:read' }),
      insecure,
    );
    const tokens = await oauth.processClientCredentialsResponse(s.as, client, res);
    assert.equal(tokens.scope, 'orders:read');
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.id_token, undefined);
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.sub, service.clientId);
    assert.equal(claims.client_id, service.clientId);
    // Post auth works too; user scopes and wrong secrets do not.
    const post = await postForm(`${s.server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: service.clientId,
      client_secret: service.secret!,
    });
    assert.equal(post.status, 200);
    // Only registered scopes; none asked → all of them.
    const other = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'client_credentials', scope: 'orders:read admin' },
      { authorization: basic(service.clientId, service.secret!) },
    );
    assert.equal(other.json['error'], 'invalid_scope');
    const all = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(service.clientId, service.secret!) },
    );
    assert.equal(all.json['scope'], 'orders:read orders:write');
    const oidc = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'client_credentials', scope: 'openid' },
      { authorization: basic(service.clientId, service.secret!) },
    );
    assert.equal(oidc.json['error'], 'invalid_scope');
    const wrong = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(service.clientId, 'nope') },
    );
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json['error'], 'invalid_client');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /Basic/);
    // A native client may not use it.
    const native = await createClient(s.server);
    const pub = await postForm(`${s.server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: native.clientId,
    });
    assert.equal(pub.json['error'], 'unauthorized_client');
  });

  it('introspection: active, expired, revoked and unknown; unauthenticated is 401', async () => {
    const app = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const active = await introspect(tokens.access_token);
    assert.equal(active.status, 200);
    assert.equal(active.json['active'], true);
    assert.equal(active.json['sub'], s.user.id);
    assert.equal(active.json['client_id'], app.clientId);
    assert.equal(active.json['username'], 'alice');
    assert.equal(active.json['scope'], 'openid profile email offline_access');
    assert.equal((await introspect(tokens.refresh_token!)).json['active'], true);
    assert.deepEqual((await introspect('not-a-token')).json, { active: false });
    const noAuth = await postForm(`${s.server.url}/introspect`, {
      token: tokens.access_token,
      client_id: app.clientId,
    });
    assert.equal(noAuth.status, 401);
    // Revoked via /revoke by its own client.
    const rev = await postForm(`${s.server.url}/revoke`, {
      token: tokens.access_token,
      client_id: app.clientId,
      token_type_hint: 'refresh_token',
    });
    assert.equal(rev.status, 200);
    assert.deepEqual((await introspect(tokens.access_token)).json, { active: false });
    // Expired (injectable clock).
    const fresh = await obtainTokens(s.server, s.as, app);
    s.server.clock.advanceSeconds(3600 + CLOCK_SKEW_SEC);
    assert.deepEqual((await introspect(fresh.tokens.access_token)).json, { active: false });
  });

  it('revocation: a refresh token revokes its family; unknown tokens get 200; others cannot revoke', async () => {
    const app = await createClient(s.server);
    const other = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const byOther = await postForm(`${s.server.url}/revoke`, {
      token: tokens.refresh_token!,
      client_id: other.clientId,
    });
    assert.equal(byOther.status, 200);
    assert.equal(
      (await introspect(tokens.refresh_token!)).json['active'],
      true,
      'another client cannot revoke it',
    );
    const res = await oauth.revocationRequest(
      s.as,
      { client_id: app.clientId },
      oauth.None(),
      tokens.refresh_token!,
      insecure,
    );
    await oauth.processRevocationResponse(res);
    assert.equal((await introspect(tokens.refresh_token!)).json['active'], false);
    assert.equal(
      (await introspect(tokens.access_token)).json['active'],
      false,
      'access tokens of the family go too',
    );
    const refreshed = await postForm(`${s.server.url}/token`, {
      grant_type: 'refresh_token',
      client_id: app.clientId,
      refresh_token: tokens.refresh_token!,
    });
    assert.equal(refreshed.json['error'], 'invalid_grant');
    assert.equal(
      (await postForm(`${s.server.url}/revoke`, { token: 'unknown', client_id: app.clientId })).status,
      200,
    );
    assert.equal(
      (await postForm(`${s.server.url}/revoke`, { client_id: app.clientId })).json['error'],
      'invalid_request',
    );
    // An unknown hint is ignored (RFC 7009 §2.1: the server searches every type anyway).
    const hinted = await postForm(`${s.server.url}/revoke`, {
      token: 'x',
      token_type_hint: 'bogus',
      client_id: app.clientId,
    });
    assert.equal(hinted.status, 200);
  });

  it('userinfo: GET, POST with the header, POST with the body; claims by scope', async () => {
    const app = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const idClaims = oauth.getValidatedIdTokenClaims(tokens)!;
    const get = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(get.status, 200);
    const body = (await get.json()) as Record<string, unknown>;
    assert.equal(body['sub'], idClaims.sub);
    assert.equal(body['preferred_username'], 'alice');
    assert.equal(body['email'], 'alice@example.com');
    assert.equal(body['email_verified'], false);
    assert.ok(body['name']);
    const postHeader = await fetch(`${s.server.url}/userinfo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(postHeader.status, 200);
    const postBody = await postForm(`${s.server.url}/userinfo`, { access_token: tokens.access_token });
    assert.equal(postBody.status, 200);
    assert.equal(postBody.json['sub'], idClaims.sub);
    // oauth4webapi's own userinfo call.
    const ui = await oauth.processUserInfoResponse(
      s.as,
      { client_id: app.clientId },
      idClaims.sub,
      await oauth.userInfoRequest(s.as, { client_id: app.clientId }, tokens.access_token, insecure),
    );
    assert.equal(ui.sub, idClaims.sub);
    // Only openid: no profile or email claims.
    const narrow = await obtainTokens(s.server, s.as, app, { scope: 'openid' });
    const n = (await (
      await fetch(`${s.server.url}/userinfo`, {
        headers: { authorization: `Bearer ${narrow.tokens.access_token}` },
      })
    ).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(n), ['sub']);
  });

  it('userinfo refuses bad, expired and missing tokens with WWW-Authenticate', async () => {
    const app = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const bad = await fetch(`${s.server.url}/userinfo`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /Bearer .*error="invalid_token"/);
    const none = await fetch(`${s.server.url}/userinfo`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const tampered =
      tokens.access_token.slice(0, -4) + (tokens.access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.equal(
      (await fetch(`${s.server.url}/userinfo`, { headers: { authorization: `Bearer ${tampered}` } })).status,
      401,
    );
    s.server.clock.advanceSeconds(3600 + CLOCK_SKEW_SEC);
    assert.equal(
      (
        await fetch(`${s.server.url}/userinfo`, {
          headers: { authorization: `Bearer ${tokens.access_token}` },
        })
      ).status,
      401,
    );
  });

  it('deleting an application revokes what it holds (user grants and client-credentials tokens)', async () => {
    const app = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const svc = await createClient(s.server, { type: 'service' });
    const cc = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(svc.clientId, svc.secret!) },
    );
    assert.equal((await introspect(tokens.access_token)).json['active'], true);
    assert.equal((await introspect(String(cc.json['access_token']))).json['active'], true);
    const actions = new AdminActions(s.server.ctx);
    assert.equal(await actions.deleteClient({ via: 'cli', ip: null }, app.clientId), true);
    assert.equal(await actions.deleteClient({ via: 'cli', ip: null }, svc.clientId), true);
    assert.equal((await introspect(tokens.access_token)).json['active'], false);
    assert.equal((await introspect(tokens.refresh_token!)).json['active'], false);
    assert.equal((await introspect(String(cc.json['access_token']))).json['active'], false);
    const [event] = await s.server.ctx.audit.list({ type: 'client_deleted', clientId: app.clientId });
    assert.equal(event?.detail?.['via'], 'cli');
  });

  it('re-creating a deleted application under its client_id does not revive its old tokens', async () => {
    const svc = await createClient(s.server, { type: 'service' });
    const issue = async (secret: string) =>
      String(
        (
          await postForm(
            `${s.server.url}/token`,
            { grant_type: 'client_credentials' },
            { authorization: basic(svc.clientId, secret) },
          )
        ).json['access_token'],
      );
    const old = await issue(svc.secret!);
    assert.equal((await introspect(old)).json['active'], true);
    assert.equal(
      await new AdminActions(s.server.ctx).deleteClient({ via: 'cli', ip: null }, svc.clientId),
      true,
    );
    s.server.clock.advanceSeconds(2);
    const { secret } = await s.server.ctx.clients.create({
      name: 'Same id again',
      type: 'service',
      redirectUris: [],
      clientId: svc.clientId,
    });
    assert.equal((await introspect(old)).json['active'], false, 'older than its client');
    assert.equal((await introspect(await issue(secret!))).json['active'], true);
  });

  it('allowed scopes are validated: service applications only, API scopes only', async () => {
    await assert.rejects(
      s.server.ctx.clients.create({
        name: 'n',
        type: 'native',
        redirectUris: ['http://127.0.0.1/cb'],
        allowedScopes: ['orders:read'],
      }),
      /service applications/,
    );
    await assert.rejects(
      s.server.ctx.clients.create({ name: 's', type: 'service', allowedScopes: ['openid'] }),
      /needs a user/,
    );
    await assert.rejects(
      s.server.ctx.clients.create({ name: 's', type: 'service', allowedScopes: ['bad"scope'] }),
      /invalid scope/,
    );
    const { client } = await s.server.ctx.clients.create({
      name: 's',
      type: 'service',
      allowedScopes: ['a', 'a', 'b'],
    });
    assert.deepEqual(client.allowedScopes, ['a', 'b']);
    const updated = await s.server.ctx.clients.update(client.clientId, { allowedScopes: ['c'] });
    assert.deepEqual((await s.server.ctx.storage.clients.get(client.clientId))?.allowedScopes, ['c']);
    assert.deepEqual(updated?.client.allowedScopes, ['c']);
  });
});
