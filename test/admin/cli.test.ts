/** `latchkey users create --admin`, `grant-admin`, `revoke-admin` through the built command. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser, formOf } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { PASSWORD, startTestServer, tempDir } from '../helpers/server.js';

const run = (args: string[], stdin = '') => runCli(args, { stdin });

describe('latchkey users: the admin role', () => {
  let dir: string;
  let db: string;
  before(() => {
    dir = tempDir('latchkey-admin-cli-');
    db = join(dir, 'admin.db');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('users create --admin makes an admin; without it the user is not one', async () => {
    const a = await run(
      ['users', 'create', '--username', 'root', '--password-stdin', '--admin', '--json', '--db', db],
      `${PASSWORD}\n`,
    );
    assert.equal(a.code, 0, a.stderr);
    const root = JSON.parse(a.stdout);
    assert.equal(root.username, 'root');
    assert.equal(root.is_admin, true);
    const b = await run(
      ['users', 'create', '--username', 'bob', '--password-stdin', '--json', '--db', db],
      `${PASSWORD}\n`,
    );
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout).is_admin, false);
    const human = await run(['users', 'list', '--db', db]);
    assert.match(human.stdout, /root {2}\(admin\)/);
    assert.doesNotMatch(human.stdout, /bob {2}\(admin\)/);
  });

  it('grant-admin and revoke-admin switch the role, print JSON, and are audited', async () => {
    const g = await run(['users', 'grant-admin', 'bob', '--json', '--db', db]);
    assert.equal(g.code, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout).is_admin, true);
    const list = JSON.parse((await run(['users', 'list', '--json', '--db', db])).stdout) as {
      username: string;
      is_admin: boolean;
    }[];
    assert.equal(list.find((u) => u.username === 'bob')?.is_admin, true);
    const r = await run(['users', 'revoke-admin', 'bob', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /bob is no longer an admin/);
    const again = JSON.parse((await run(['users', 'list', '--json', '--db', db])).stdout) as {
      username: string;
      is_admin: boolean;
    }[];
    assert.equal(again.find((u) => u.username === 'bob')?.is_admin, false);
    const audit = JSON.parse(
      (await run(['audit', 'list', '--user', 'bob', '--json', '--db', db])).stdout,
    ) as { type: string; detail: { via: string } }[];
    const types = audit.map((e) => e.type);
    assert.ok(types.includes('user_admin_granted'));
    assert.ok(types.includes('user_admin_revoked'));
    assert.ok(audit.every((e) => e.detail.via === 'cli'));
  });

  it('unknown users and missing names are one-line usage errors', async () => {
    const missing = await run(['users', 'grant-admin', 'nobody', '--db', db]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no user named nobody/);
    const noName = await run(['users', 'revoke-admin', '--db', db]);
    assert.notEqual(noName.code, 0);
    assert.match(noName.stderr, /usage: latchkey users revoke-admin USERNAME/);
  });

  it('the admin created by the CLI signs in to the console of a server on that database', async () => {
    const server = await startTestServer({ dbPath: db });
    try {
      const b = new Browser(server.url);
      const { csrf } = formOf((await b.get('/admin/login')).body);
      const r = await b.post('/admin/login', { csrf, username: 'root', password: PASSWORD });
      assert.equal(r.status, 303);
      assert.equal((await b.get('/admin/users')).status, 200);
      const bob = new Browser(server.url);
      const page = await bob.get('/admin/login');
      const denied = await bob.post('/admin/login', {
        csrf: formOf(page.body).csrf,
        username: 'bob',
        password: PASSWORD,
      });
      assert.equal(denied.status, 403);
    } finally {
      await server.cleanup();
    }
  });
});
