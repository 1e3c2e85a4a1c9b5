/**
 * `latchkey registration-tokens create|list|revoke` (initial access tokens, RFC 7591 §3): the
 * token made by the built command (the bin) registers a client at a server on the same database
 * until it is used up or revoked; list and clients list show what happened; bad flags exit 2.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli as run } from '../helpers/cli.js';
import { runCliProcess } from '../helpers/cli-process.js';
import { startTestServer, type TestServer, tempDir } from '../helpers/server.js';

const metadata = JSON.stringify({
  client_name: 'Registered by token',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: ['http://127.0.0.1/callback'],
});

const register = (server: TestServer, token: string) =>
  fetch(`${server.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: metadata,
  });

describe('latchkey registration-tokens', () => {
  let dir: string;
  let db: string;
  let server: TestServer;
  before(async () => {
    dir = tempDir('latchkey-regtokens-');
    db = join(dir, 'reg.db');
    server = await startTestServer({ dbPath: db, overrides: { registration: 'token', rateLimit: false } });
  });
  after(() => server.cleanup());

  const json = async (args: string[]) => {
    const r = await run([...args, '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  it('create (the bin) --json: a token that registers --max-uses clients, then list and revoke', async () => {
    const r = await runCliProcess([
      'registration-tokens',
      'create',
      '--max-uses',
      '2',
      '--expires-in',
      '1h',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const made = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(made).sort(), [
      'created_at',
      'expires_at',
      'id',
      'max_uses',
      'revoked_at',
      'state',
      'token',
      'uses',
    ]);
    assert.equal(made.max_uses, 2);
    assert.equal(made.uses, 0);
    assert.equal(made.state, 'active');
    assert.equal(typeof made.token, 'string');

    assert.equal((await register(server, made.token)).status, 201);
    const listed = await json(['registration-tokens', 'list']);
    const entry = listed.find((t: { id: string }) => t.id === made.id);
    assert.equal(entry.uses, 1);
    assert.equal(entry.token, undefined, 'the token itself is never listed');
    const clients = await json(['clients', 'list']);
    const dynamic = clients.filter((c: { registration: string | null }) => c.registration === 'dynamic');
    assert.equal(dynamic.length, 1);
    assert.equal(dynamic[0].name, 'Registered by token');

    const revoked = await json(['registration-tokens', 'revoke', made.id]);
    assert.deepEqual(revoked, { id: made.id, revoked: true });
    assert.equal((await register(server, made.token)).status, 401);
    const after = (await json(['registration-tokens', 'list'])).find((t: { id: string }) => t.id === made.id);
    assert.equal(after.state, 'revoked');
    // A second revocation: nothing to revoke.
    const again = await run(['registration-tokens', 'revoke', made.id, '--db', db]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /no active initial access token/);
  });

  it('a used-up token says so in list; the defaults are one use within a day', async () => {
    const made = await json(['registration-tokens', 'create']);
    assert.equal(made.max_uses, 1);
    assert.equal(Date.parse(made.expires_at) - Date.parse(made.created_at), 86400_000);
    assert.equal((await register(server, made.token)).status, 201);
    assert.equal((await register(server, made.token)).status, 401);
    const entry = (await json(['registration-tokens', 'list'])).find((t: { id: string }) => t.id === made.id);
    assert.equal(entry.state, 'used_up');
  });

  it('bad flags: one-line usage errors, exit 2', async () => {
    for (const args of [
      ['--max-uses', '0'],
      ['--max-uses', 'many'],
      ['--max-uses', '1000000'],
      ['--expires-in', 'soon'],
      ['--expires-in', '10s'],
      ['--expires-in', '400d'],
      ['--unknown'],
    ]) {
      const r = await run(['registration-tokens', 'create', ...args, '--db', db]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const help = await run(['registration-tokens', 'create', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^latchkey registration-tokens create/);
  });
});
