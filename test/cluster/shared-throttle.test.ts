/** Sign-in throttling is shared: failures on one node lock the account on another (same database). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { Browser, formOf } from '../helpers/browser.js';
import { authorizeQuery, EXAMPLE_CHALLENGE } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

describe('sign-in throttling across nodes', () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    const clock = new ManualClock();
    a = await startTestServer({ clock });
    b = await startTestServer({ clock, dbPath: a.dbPath });
  });
  after(async () => {
    await b.stop();
    await a.cleanup();
  });

  it('five failures on node A lock the account on node B; the lock ends after its time', async () => {
    await createUser(a, 'frank');
    const app = await createClient(a);
    const open = async (server: TestServer) => {
      const browser = new Browser(server.url);
      const qs = authorizeQuery(app, EXAMPLE_CHALLENGE);
      const start = await browser.get(`/authorize?${qs}`);
      const page = await browser.get(start.location!);
      const { csrf, actions } = formOf(page.body);
      return { browser, csrf, login: actions.find((x) => x.endsWith('/login'))! };
    };
    const onA = await open(a);
    for (let i = 0; i < 5; i++) {
      const r = await onA.browser.post(onA.login, {
        csrf: onA.csrf,
        username: 'frank',
        password: `wrong-${i}`,
      });
      assert.equal(r.status, 401);
    }
    const onB = await open(b);
    const locked = await onB.browser.post(onB.login, {
      csrf: onB.csrf,
      username: 'frank',
      password: PASSWORD,
    });
    assert.equal(locked.status, 429);
    a.clock.advanceSeconds(301);
    const ok = await onB.browser.post(onB.login, { csrf: onB.csrf, username: 'frank', password: PASSWORD });
    assert.equal(ok.status, 303);
  });
});
