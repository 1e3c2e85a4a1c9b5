/**
 * Rules at the edges of the endpoints: CORS preflight for userinfo and revoke, redirect URIs
 * written with an authority, discovery without prompt=select_account, and a Deny that wins the
 * race against Allow leaves no consent behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientInputError } from '../../src/admin/clients.js';
import { Browser, formOf } from '../helpers/browser.js';
import { withServer } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD } from '../helpers/server.js';

describe('endpoint rules', () => {
  const s = withServer({ users: ['alice'], discover: true });

  const openSignIn = async (clientId: string, redirectUri: string) => {
    const browser = new Browser(s.server.url);
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
    await createClient(s.server, { type: 'spa', redirectUris: ['https://spa.example/cb'] });
    for (const path of ['/userinfo', '/revoke', '/token']) {
      const r = await fetch(`${s.server.url}${path}`, {
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
      s.server.ctx.clients.create({ name: 'x', type: 'web', redirectUris: ['https:evil.example/cb'] }),
      ClientInputError,
    );
    await assert.rejects(
      s.server.ctx.clients.create({ name: 'x', type: 'native', redirectUris: ['http:127.0.0.1/cb'] }),
      ClientInputError,
    );
  });

  it('discovery does not advertise prompt=select_account', () => {
    assert.ok(
      !(
        s.as as Record<string, unknown> & { prompt_values_supported?: string[] }
      ).prompt_values_supported?.includes('select_account'),
    );
  });

  it('a Deny that wins the race against Allow leaves no consent behind', async () => {
    const app = await createClient(s.server, { consent: 'required' });
    await createUser(s.server, 'ivy');
    const form = await openSignIn(app.clientId, app.redirectUri);
    const signIn = await form.browser.post(form.actions.find((a) => a.endsWith('/login'))!, {
      csrf: form.csrf,
      username: 'ivy',
      password: PASSWORD,
    });
    const consentPage = await form.browser.get(signIn.location!);
    const { csrf, actions } = formOf(consentPage.body);
    const deny = await form.browser.post(actions[0]!, { csrf, decision: 'deny' });
    assert.equal(new URL(deny.location!).searchParams.get('error'), 'access_denied');
    const allow = await form.browser.post(actions[0]!, { csrf, decision: 'allow' });
    assert.equal(allow.status, 400);
    const ivy = (await s.server.ctx.storage.users.getByUsername('ivy'))!;
    assert.equal(await s.server.ctx.storage.consents.get(ivy.id, app.clientId), undefined);
  });
});
