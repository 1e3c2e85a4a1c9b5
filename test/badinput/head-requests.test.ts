/** HEAD on endpoints with side effects must not run them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databaseForTests } from '../../src/storage/index.js';
import { authorizeQuery, EXAMPLE_CHALLENGE, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('HEAD requests', () => {
  const s = withServer();

  it('HEAD /authorize starts no sign-in and sets no cookie; HEAD /logout ends nothing', async () => {
    const app = await createClient(s.server);
    const qs = authorizeQuery(app, EXAMPLE_CHALLENGE);
    const res = await fetch(`${s.server.url}/authorize?${qs}`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('set-cookie'), null);
    const rows = await databaseForTests(s.server.ctx.storage)
      .selectFrom('interactions')
      .select('id')
      .execute();
    assert.equal(rows.length, 0);
    const logout = await fetch(`${s.server.url}/logout`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(logout.status, 404);
  });
});
