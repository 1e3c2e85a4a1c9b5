/** HEAD on endpoints with side effects must not run them. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { databaseForTests } from '../../src/storage/index.js';
import { authorizeQuery, EXAMPLE_CHALLENGE } from '../helpers/flow.js';
import { createClient, startTestServer, type TestServer } from '../helpers/server.js';

describe('HEAD requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.cleanup());

  it('HEAD /authorize starts no sign-in and sets no cookie; HEAD /logout ends nothing', async () => {
    const app = await createClient(server);
    const qs = authorizeQuery(app, EXAMPLE_CHALLENGE);
    const res = await fetch(`${server.url}/authorize?${qs}`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('set-cookie'), null);
    const rows = await databaseForTests(server.ctx.storage).selectFrom('interactions').select('id').execute();
    assert.equal(rows.length, 0);
    const logout = await fetch(`${server.url}/logout`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(logout.status, 404);
  });
});
