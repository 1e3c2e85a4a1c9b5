/**
 * Which application may ask for which API (RFC 8707) and which grants it has, as scripts set
 * them: `clients create|update --allow-api IDENTIFIER[=SCOPE,…]`, `--disallow-api`, `--grant`,
 * `--no-grant`, and `allowed_apis` / `grant_types` in `--json` and the admin API.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli as run } from '../helpers/cli.js';
import { withServer } from '../helpers/flow.js';
import { tempDir } from '../helpers/server.js';

const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const ORDERS = 'https://orders.example.com';

describe('clients --allow-api, --disallow-api, --grant, --no-grant', () => {
  let dir: string;
  let db: string;
  const cli = async (...args: string[]) => run([...args, '--db', db]);
  const json = async (...args: string[]) => {
    const r = await cli(...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  before(async () => {
    dir = tempDir('latchkey-allowed-apis-');
    db = join(dir, 'cli.db');
    await json(
      'apis',
      'create',
      '--identifier',
      ORDERS,
      '--name',
      'Orders API',
      '--scope',
      'orders:read=Read your orders',
      '--scope',
      'orders:write=Change your orders',
    );
    await json('apis', 'create', '--identifier', 'https://billing.example.com', '--name', 'Billing');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--allow-api adds an API with some or all of its scopes; naming it again replaces them', async () => {
    const app = await json(
      'clients',
      'create',
      '--name',
      'App',
      '--type',
      'native',
      '--redirect-uri',
      'http://127.0.0.1/cb',
    );
    assert.deepEqual(app['allowed_apis'], [], 'the default API only, as before');
    const id = app['client_id'] as string;
    let c = await json('clients', 'update', id, '--allow-api', `${ORDERS}=orders:read`);
    assert.deepEqual(c['allowed_apis'], [{ identifier: ORDERS, scopes: ['orders:read'] }]);
    c = await json('clients', 'update', id, '--allow-api', 'https://billing.example.com');
    assert.deepEqual(c['allowed_apis'], [
      { identifier: ORDERS, scopes: ['orders:read'] },
      { identifier: 'https://billing.example.com', scopes: null },
    ]);
    c = await json('clients', 'update', id, '--allow-api', `${ORDERS}=orders:read,orders:write`);
    assert.deepEqual((c['allowed_apis'] as unknown[])[1], {
      identifier: ORDERS,
      scopes: ['orders:read', 'orders:write'],
    });
    c = await json('clients', 'update', id, '--disallow-api', ORDERS);
    assert.deepEqual(c['allowed_apis'], [{ identifier: 'https://billing.example.com', scopes: null }]);
    const listed = (await run(['clients', 'list', '--json', '--db', db])).stdout;
    const mine = (JSON.parse(listed) as Record<string, unknown>[]).find((x) => x['client_id'] === id)!;
    assert.deepEqual(mine['allowed_apis'], c['allowed_apis'], 'clients list --json shows the same');
    const human = await cli('clients', 'update', id, '--allow-api', ORDERS);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /allowed API: https:\/\/orders\.example\.com \(all its scopes\)/);
  });

  it('refuses unknown APIs, unknown scopes, and disallowing an API that is not allowed', async () => {
    const id = (
      await json(
        'clients',
        'create',
        '--name',
        'App2',
        '--type',
        'spa',
        '--redirect-uri',
        'http://127.0.0.1/cb',
      )
    )['client_id'] as string;
    let r = await cli('clients', 'update', id, '--allow-api', 'https://nowhere.example.com');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no API with identifier "https:\/\/nowhere\.example\.com"/);
    r = await cli('clients', 'update', id, '--allow-api', `${ORDERS}=orders:delete`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /has no scope "orders:delete" \(its scopes: orders:read, orders:write\)/);
    r = await cli('clients', 'update', id, '--allow-api', `${ORDERS}=`);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /list scopes after "="/);
    r = await cli('clients', 'update', id, '--disallow-api', ORDERS);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not allowed API https:\/\/orders\.example\.com/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    const c = await json('clients', 'update', id, '--name', 'Still');
    assert.deepEqual(c['allowed_apis'], [], 'nothing half-written');
  });

  it('--grant device_code adds the RFC 8628 grant; a native app with it needs no redirect URI', async () => {
    const tv = await json('clients', 'create', '--name', 'TV', '--type', 'native', '--grant', 'device_code');
    assert.deepEqual(tv['grant_types'], ['authorization_code', DEVICE, 'refresh_token']);
    assert.deepEqual(tv['redirect_uris'], []);
    const id = tv['client_id'] as string;
    let c = await json('clients', 'update', id, '--no-grant', 'authorization_code');
    assert.deepEqual(c['grant_types'], [DEVICE, 'refresh_token']);
    c = await json('clients', 'update', id, '--no-refresh-tokens');
    assert.deepEqual(c['grant_types'], [DEVICE], '--no-refresh-tokens keeps the device grant');
    c = await json('clients', 'update', id, '--grant', 'refresh_token', '--grant', DEVICE);
    assert.deepEqual(c['grant_types'], [DEVICE, 'refresh_token'], 'the RFC name works too');
    let r = await cli('clients', 'update', id, '--no-grant', 'device_code');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /needs authorization_code or device_code/);
    r = await cli('clients', 'update', id, '--grant', 'authorization_code', '--no-grant', 'device_code');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /needs a redirect URI/);
    r = await cli('clients', 'create', '--name', 'S', '--type', 'service', '--grant', 'device_code');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /a service application has client_credentials only, not device_code/);
    r = await cli('clients', 'create', '--name', 'S2', '--type', 'service', '--allow-api', 'api://default=x');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /allowed scopes \(--scope\), not an allowed API/);
    r = await cli('clients', 'create', '--name', 'Nat', '--type', 'native');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /needs at least one --redirect-uri/);
    r = await cli('clients', 'create', '--name', 'X', '--type', 'native', '--grant', 'password');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown grant type "password"/);
  });
});

describe('admin API: allowed_apis and grant_types', () => {
  const TOKEN = 'admin-token-for-tests-0123456789';
  const s = withServer({ overrides: { adminToken: TOKEN } });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.server.url}/admin/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('sets the whole list, validated, and shows it as the CLI does', async () => {
    assert.equal(
      (
        await call('POST', '/apis', {
          identifier: ORDERS,
          name: 'Orders',
          scopes: [{ value: 'orders:read' }],
        })
      ).status,
      201,
    );
    const created = await call('POST', '/clients', {
      name: 'Agent',
      type: 'native',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      allowed_apis: [{ identifier: ORDERS, scopes: ['orders:read'] }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.deepEqual(created.json['grant_types'], [DEVICE, 'refresh_token']);
    assert.deepEqual(created.json['allowed_apis'], [{ identifier: ORDERS, scopes: ['orders:read'] }]);
    const id = created.json['client_id'] as string;
    const cleared = await call('PATCH', `/clients/${id}`, { allowed_apis: [] });
    assert.equal(cleared.status, 200);
    assert.deepEqual(cleared.json['allowed_apis'], []);
    for (const bad of [
      { allowed_apis: 'x' },
      { allowed_apis: [{ identifier: 1 }] },
      { allowed_apis: [{ identifier: ORDERS, scopes: 'orders:read' }] },
      { allowed_apis: [{ identifier: ORDERS, extra: true }] },
      { allowed_apis: [{ identifier: ORDERS }, { identifier: ORDERS }] },
      { allowed_apis: [{ identifier: 'https://unknown.example.com' }] },
      { grant_types: ['implicit'] },
    ]) {
      const r = await call('PATCH', `/clients/${id}`, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.json['error'], 'invalid_request');
      assert.match(String(r.json['error_description']), /allowed APIs|named twice|no API with|grant type/);
    }
  });
});
