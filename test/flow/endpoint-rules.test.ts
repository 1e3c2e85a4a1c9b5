/**
 * Rules at the edges of the endpoints: CORS preflight for userinfo and revoke, redirect URIs
 * written with an authority, discovery without prompt=select_account, and a Deny that wins the
 * race against Allow leaves no consent behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as oauth from 'oauth4webapi';
import { ClientInputError } from '../../src/admin/clients.js';
import { Browser, formOf } from '../helpers/browser.js';
import { discover } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

describe('endpoint rules', () => {
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
