/**
 * `latchkey apis …` as scripts use it (issue text kept exactly): create with --identifier, --name,
 * --scope VALUE="DESCRIPTION", --access-token-ttl, --token-alg, --allow-dynamic-clients, --json;
 * list (the default API, LATCHKEY_AUDIENCE, first), show, update, delete; clear one-line errors.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStorage } from '../../src/storage/index.js';
import { runCli as run } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

describe('latchkey apis', () => {
  let dir: string;
  let db: string;
  before(() => {
    dir = tempDir('latchkey-apis-cli-');
    db = join(dir, 'apis.db');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const json = async (args: string[], env?: Record<string, string>) => {
    const r = await run([...args, '--json', '--db', db], env ? { env } : {});
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  it('create --json: the documented shape, scopes with their descriptions', async () => {
    const api = await json([
      'apis',
      'create',
      '--identifier',
      'https://api.example.com',
      '--name',
      'Orders API',
      '--scope',
      'orders:read=Read your orders',
      '--scope',
      'orders:write="Place orders for you"',
      '--access-token-ttl',
      '15m',
      '--token-alg',
      'ES256',
    ]);
    assert.deepEqual(Object.keys(api).sort(), [
      'access_token_ttl',
      'allow_dynamic_clients',
      'created_at',
      'default',
      'identifier',
      'name',
      'scopes',
      'token_alg',
      'updated_at',
    ]);
    assert.equal(api.identifier, 'https://api.example.com');
    assert.equal(api.name, 'Orders API');
    assert.deepEqual(api.scopes, [
      { value: 'orders:read', description: 'Read your orders' },
      { value: 'orders:write', description: 'Place orders for you' },
    ]);
    assert.equal(api.access_token_ttl, 900);
    assert.equal(api.token_alg, 'ES256');
    assert.equal(api.allow_dynamic_clients, false);
    assert.equal(api.default, false);
    assert.ok(!Number.isNaN(Date.parse(api.created_at)));
    // Audited, with who did it.
    const s = await openStorage(db);
    try {
      const [event] = await s.audit.list({ type: 'api_created' });
      assert.equal(event?.detail?.['identifier'], 'https://api.example.com');
      assert.equal(event?.detail?.['via'], 'cli');
    } finally {
      await s.close();
    }
  });

  it('list: the default API (LATCHKEY_AUDIENCE) first, then the registered ones', async () => {
    const apis = await json(['apis', 'list']);
    assert.deepEqual(
      apis.map((a: { identifier: string; default: boolean }) => [a.identifier, a.default]),
      [
        ['api://default', true],
        ['https://api.example.com', false],
      ],
    );
    const other = await json(['apis', 'list'], { LATCHKEY_AUDIENCE: 'https://main.example.com' });
    assert.equal(other[0].identifier, 'https://main.example.com');
    assert.equal(other[0].default, true);
    const text = await run(['apis', 'list', '--db', db]);
    assert.match(text.stdout, /api:\/\/default {2}Default API {2}\(0 scopes\) {2}default/);
    assert.match(text.stdout, /https:\/\/api\.example\.com {2}Orders API {2}\(2 scopes\)/);
  });

  it('show and update; null settings back to the server default; the default API can be changed', async () => {
    const shown = await json(['apis', 'show', 'https://api.example.com']);
    assert.equal(shown.name, 'Orders API');
    const text = await run(['apis', 'show', 'https://api.example.com', '--db', db]);
    assert.match(text.stdout, /orders:read {2}Read your orders/);
    assert.match(text.stdout, /access token lifetime: 15m/);

    const updated = await json([
      'apis',
      'update',
      'https://api.example.com',
      '--name',
      'Orders',
      '--scope',
      'orders:read=Read',
      '--access-token-ttl',
      'default',
      '--token-alg',
      'default',
      '--allow-dynamic-clients',
    ]);
    assert.equal(updated.name, 'Orders');
    assert.deepEqual(updated.scopes, [{ value: 'orders:read', description: 'Read' }]);
    assert.equal(updated.access_token_ttl, null);
    assert.equal(updated.token_alg, null);
    assert.equal(updated.allow_dynamic_clients, true);
    assert.equal(
      (await json(['apis', 'update', 'https://api.example.com', '--no-dynamic-clients']))
        .allow_dynamic_clients,
      false,
    );

    const def = await json([
      'apis',
      'update',
      'api://default',
      '--name',
      'Main API',
      '--scope',
      'reports:read=See reports',
    ]);
    assert.equal(def.default, true);
    assert.equal(def.name, 'Main API');
    assert.equal((await json(['apis', 'show', 'api://default'])).name, 'Main API');
  });

  it('refusals: one line each, nothing stored', async () => {
    const cases: [string[], number, RegExp][] = [
      [['apis', 'create', '--name', 'X'], 2, /--identifier is required/],
      [['apis', 'create', '--identifier', 'https://x.example'], 2, /--name is required/],
      [['apis', 'create', '--identifier', 'not a uri', '--name', 'X'], 1, /printable ASCII|absolute URI/],
      [['apis', 'create', '--identifier', 'orders', '--name', 'X'], 1, /absolute URI/],
      [['apis', 'create', '--identifier', 'https://x.example/#f', '--name', 'X'], 1, /fragment/],
      [['apis', 'create', '--identifier', 'http://x.example', '--name', 'X'], 1, /loopback only/],
      [['apis', 'create', '--identifier', 'https://api.example.com', '--name', 'X'], 1, /exists/],
      [['apis', 'create', '--identifier', 'api://default', '--name', 'X'], 1, /default API/],
      [
        ['apis', 'create', '--identifier', 'https://y.example', '--name', 'X', '--scope', 'openid'],
        1,
        /server's own/,
      ],
      [
        ['apis', 'create', '--identifier', 'https://y.example', '--name', 'X', '--scope', 'a b=c'],
        1,
        /invalid scope/,
      ],
      [
        [
          'apis',
          'create',
          '--identifier',
          'https://y.example',
          '--name',
          'X',
          '--scope',
          'a',
          '--scope',
          'a',
        ],
        1,
        /twice/,
      ],
      [
        ['apis', 'create', '--identifier', 'https://y.example', '--name', 'X', '--access-token-ttl', '10'],
        1,
        /60 to 86400/,
      ],
      [
        ['apis', 'create', '--identifier', 'https://y.example', '--name', 'X', '--access-token-ttl', 'soon'],
        2,
        /duration/,
      ],
      [
        ['apis', 'create', '--identifier', 'https://y.example', '--name', 'X', '--token-alg', 'HS256'],
        2,
        /RS256 or ES256/,
      ],
      [['apis', 'show', 'https://nowhere.example'], 2, /no API with identifier/],
      [['apis', 'update', 'https://nowhere.example', '--name', 'N'], 2, /no API with identifier/],
      [['apis', 'update', 'https://api.example.com'], 2, /at least one setting/],
      [['apis', 'delete', 'api://default'], 1, /cannot be deleted/],
      [['apis', 'frobnicate'], 2, /unknown apis sub-command/],
    ];
    for (const [args, code, message] of cases) {
      const r = await run([...args, '--db', db]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, args.join(' '));
    }
    const apis = await json(['apis', 'list']);
    assert.deepEqual(
      apis.map((a: { identifier: string }) => a.identifier),
      ['api://default', 'https://api.example.com'],
    );
  });

  it('delete: gone from the list; deleting again is an error', async () => {
    assert.deepEqual(await json(['apis', 'delete', 'https://api.example.com']), {
      identifier: 'https://api.example.com',
      deleted: true,
    });
    const again = await run(['apis', 'delete', 'https://api.example.com', '--db', db]);
    assert.equal(again.code, 2);
    assert.equal((await json(['apis', 'list'])).length, 1);
  });

  it('--help of each sub-command names its flags', async () => {
    const r = await run(['apis', 'create', '--help']);
    assert.equal(r.code, 0);
    for (const flag of [
      '--identifier',
      '--name',
      '--scope',
      '--access-token-ttl',
      '--token-alg',
      '--allow-dynamic-clients',
    ])
      assert.ok(r.stdout.includes(flag), flag);
    const group = await run(['apis', '--help']);
    assert.match(group.stdout, /latchkey apis list/);
  });
});
