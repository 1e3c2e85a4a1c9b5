/**
 * Sign-in throttling over HTTP: parallel wrong passwords check at most the limit, and successful
 * sign-ins never count against the IP.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Browser, formOf } from '../helpers/browser.js';
import { withServer } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD } from '../helpers/server.js';

describe('sign-in throttle', () => {
  const s = withServer({ users: ['alice'] });

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

  it('25 parallel wrong passwords check at most 5 passwords; the rest are throttled', async () => {
    await createUser(s.server, 'gina');
    const app = await createClient(s.server);
    const form = await openSignIn(app.clientId, app.redirectUri);
    const login = form.actions.find((a) => a.endsWith('/login'))!;
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        form.browser.post(login, { csrf: form.csrf, username: 'gina', password: `bad-${i}` }),
      ),
    );
    const checked = results.filter((r) => r.status === 401).length;
    const throttled = results.filter((r) => r.status === 429).length;
    assert.ok(checked <= 5, `at most 5 password checks, got ${checked}`);
    assert.equal(checked + throttled, 25);
    // The right password is refused while locked, and accepted after the lock.
    assert.equal(
      (await form.browser.post(login, { csrf: form.csrf, username: 'gina', password: PASSWORD })).status,
      429,
    );
    s.server.clock.advanceSeconds(301);
    assert.equal(
      (await form.browser.post(login, { csrf: form.csrf, username: 'gina', password: PASSWORD })).status,
      303,
    );
  });

  it('successful sign-ins do not count against the IP', async () => {
    const app = await createClient(s.server);
    for (let i = 0; i < 35; i++) {
      const form = await openSignIn(app.clientId, app.redirectUri);
      const r = await form.browser.post(form.actions.find((a) => a.endsWith('/login'))!, {
        csrf: form.csrf,
        username: 'alice',
        password: PASSWORD,
      });
      assert.equal(r.status, 303, `sign-in ${i}`);
    }
  });
});
