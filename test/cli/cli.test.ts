/** The `latchkey` command as scripts use it: names, flags, JSON shapes, one-line errors, exit codes. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { runCli as run } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

describe('latchkey CLI', () => {
  let dir: string;
  let db: string;
  before(() => {
    dir = tempDir('latchkey-cli-');
    db = join(dir, 'cli.db');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('clients create --json prints the documented shape; web clients get a secret once', async () => {
    const r = await run([
      'clients',
      'create',
      '--name',
      'My App',
      '--type',
      'native',
      '--redirect-uri',
      'com.example.app:/callback',
      '--redirect-uri',
      'http://127.0.0.1/callback',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.ok(c.client_id);
    assert.equal(c.type, 'native');
    assert.deepEqual(c.redirect_uris, ['com.example.app:/callback', 'http://127.0.0.1/callback']);
    assert.equal(c.token_endpoint_auth_method, 'none');
    assert.equal(c.consent, 'none');
    assert.equal(c.client_secret, undefined);
    const w = JSON.parse(
      (
        await run([
          'clients',
          'create',
          '--name',
          'Web',
          '--type',
          'web',
          '--redirect-uri',
          'https://app.example.com/cb',
          '--consent',
          'required',
          '--json',
          '--db',
          db,
        ])
      ).stdout,
    );
    assert.equal(w.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(w.consent, 'required');
    assert.ok(w.client_secret.length >= 43);
    const list = JSON.parse((await run(['clients', 'list', '--json', '--db', db])).stdout);
    assert.ok(Array.isArray(list));
    assert.equal(list.length, 2);
    assert.ok(
      list.every((x: Record<string, unknown>) => x['client_secret'] === undefined),
      'secrets are never listed',
    );
  });

  it('users create reads the password from stdin; list --json', async () => {
    const r = await run(
      [
        'users',
        'create',
        '--username',
        'carol',
        '--email',
        'carol@example.com',
        '--name',
        'Carol C',
        '--password-stdin',
        '--json',
        '--db',
        db,
      ],
      { stdin: 'a long password\n' },
    );
    assert.equal(r.code, 0, r.stderr);
    const u = JSON.parse(r.stdout);
    assert.ok(u.id);
    assert.equal(u.username, 'carol');
    const list = JSON.parse((await run(['users', 'list', '--json', '--db', db])).stdout);
    assert.equal(list.length, 1);
    assert.equal(list[0].id, u.id);
  });

  it('refuses bad input with one line and a non-zero exit, writing nothing', async () => {
    const dup = await run(['users', 'create', '--username', 'carol', '--password-stdin', '--db', db], {
      stdin: 'another password',
    });
    assert.notEqual(dup.code, 0);
    assert.equal(dup.stderr.trim().split('\n').length, 1);
    assert.match(dup.stderr, /taken/);
    const badUri = await run([
      'clients',
      'create',
      '--name',
      'X',
      '--type',
      'native',
      '--redirect-uri',
      'http://evil.example/cb',
      '--db',
      db,
    ]);
    assert.notEqual(badUri.code, 0);
    assert.match(badUri.stderr, /loopback/);
    const wild = await run([
      'clients',
      'create',
      '--name',
      'X',
      '--type',
      'spa',
      '--redirect-uri',
      'https://*.example.com/cb',
      '--db',
      db,
    ]);
    assert.notEqual(wild.code, 0);
    const frag = await run([
      'clients',
      'create',
      '--name',
      'X',
      '--type',
      'web',
      '--redirect-uri',
      'https://a.example/cb#x',
      '--db',
      db,
    ]);
    assert.notEqual(frag.code, 0);
    const flag = await run(['clients', 'create', '--name', 'X', '--type', 'native', '--bogus', '--db', db]);
    assert.equal(flag.code, 2);
    assert.equal(flag.stderr.trim().split('\n').length, 1);
    const type = await run(['clients', 'create', '--name', 'X', '--type', 'desktop', '--db', db]);
    assert.notEqual(type.code, 0);
    const list = JSON.parse((await run(['clients', 'list', '--json', '--db', db])).stdout);
    assert.equal(list.length, 2, 'nothing half-written');
  });

  it('an unreachable database is a one-line error', async () => {
    const r = await run(['clients', 'list', '--json', '--db', 'postgres://nobody@127.0.0.1:1/none']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /cannot open database/);
    const f = await run(['users', 'list', '--db', '/proc/definitely/not/here.db']);
    assert.notEqual(f.code, 0);
  });

  it('clients update, rotate-secret, delete; users set-password, disable, enable', async () => {
    const w = JSON.parse(
      (await run(['clients', 'create', '--name', 'Svc', '--type', 'service', '--json', '--db', db])).stdout,
    );
    const up = await run([
      'clients',
      'update',
      w.client_id,
      '--access-token-ttl',
      '600',
      '--refresh-grace',
      '30',
      '--name',
      'Service 2',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(JSON.parse(up.stdout).access_token_ttl, 600);
    assert.equal(JSON.parse(up.stdout).name, 'Service 2');
    const rot = JSON.parse(
      (await run(['clients', 'rotate-secret', w.client_id, '--json', '--db', db])).stdout,
    );
    assert.ok(rot.client_secret && rot.client_secret !== w.client_secret);
    const badGrace = await run(['clients', 'update', w.client_id, '--refresh-grace', '600', '--db', db]);
    assert.notEqual(badGrace.code, 0);
    const ownGrace = JSON.parse(up.stdout);
    assert.equal(ownGrace.refresh_grace, 30);
    assert.equal(ownGrace.refresh_grace_source, 'application');
    const backToDefault = await run([
      'clients',
      'update',
      w.client_id,
      '--refresh-grace',
      'default',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(backToDefault.code, 0, backToDefault.stderr);
    assert.equal(JSON.parse(backToDefault.stdout).refresh_grace, 30, 'LATCHKEY_REFRESH_GRACE');
    assert.equal(JSON.parse(backToDefault.stdout).refresh_grace_source, 'server');
    const off = await run(['clients', 'update', w.client_id, '--refresh-grace', '0', '--db', db]);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /refresh_grace: 0 s \(off\)/);
    const del = await run(['clients', 'delete', w.client_id, '--json', '--db', db]);
    assert.equal(del.code, 0);
    assert.notEqual((await run(['clients', 'delete', w.client_id, '--db', db])).code, 0);
    assert.equal(
      (
        await run(['users', 'set-password', 'carol', '--password-stdin', '--db', db], {
          stdin: 'new password here\n',
        })
      ).code,
      0,
    );
    const dis = JSON.parse((await run(['users', 'disable', 'carol', '--json', '--db', db])).stdout);
    assert.equal(dis.disabled, true);
    const en = JSON.parse((await run(['users', 'enable', 'carol', '--json', '--db', db])).stdout);
    assert.equal(en.disabled, false);
  });

  it('clients create --require-par, update --no-require-par / --require-par (RFC 7591 name in --json)', async () => {
    const made = await run([
      'clients',
      'create',
      '--name',
      'Pushed',
      '--type',
      'native',
      '--redirect-uri',
      'http://127.0.0.1/cb',
      '--require-par',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const c = JSON.parse(made.stdout);
    assert.equal(c.require_pushed_authorization_requests, true);
    const listed = JSON.parse((await run(['clients', 'list', '--json', '--db', db])).stdout) as {
      client_id: string;
      require_pushed_authorization_requests: boolean;
    }[];
    assert.equal(
      listed.find((x) => x.client_id === c.client_id)?.require_pushed_authorization_requests,
      true,
    );
    assert.ok(
      listed
        .filter((x) => x.client_id !== c.client_id)
        .every((x) => x.require_pushed_authorization_requests === false),
    );
    const off = await run(['clients', 'update', c.client_id, '--no-require-par', '--json', '--db', db]);
    assert.equal(JSON.parse(off.stdout).require_pushed_authorization_requests, false);
    const on = await run(['clients', 'update', c.client_id, '--require-par', '--json', '--db', db]);
    assert.equal(JSON.parse(on.stdout).require_pushed_authorization_requests, true);
  });

  it('clients create|update: private_key_jwt keys, --dpop-bound, --profile fapi2 (RFC 7591 names in --json)', async () => {
    const jwksFile = join(dir, 'jwks.json');
    const { publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const base = ['clients', 'create', '--type', 'web', '--redirect-uri', 'https://rp.example.com/cb'];
    const made = await run([
      ...base,
      '--name',
      'Keys',
      '--token-endpoint-auth-method',
      'private_key_jwt',
      '--jwks-file',
      jwksFile,
      '--dpop-bound',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const c = JSON.parse(made.stdout);
    assert.equal(c.token_endpoint_auth_method, 'private_key_jwt');
    assert.deepEqual(c.jwks, { keys: [jwk] });
    assert.equal(c.jwks_uri, null);
    assert.equal(c.dpop_bound_access_tokens, true);
    assert.equal(c.client_secret, undefined, 'no secret for private_key_jwt');
    const listed = JSON.parse((await run(['clients', 'list', '--json', '--db', db])).stdout) as Record<
      string,
      unknown
    >[];
    const row = listed.find((x) => x['client_id'] === c.client_id)!;
    assert.equal(row['dpop_bound_access_tokens'], true);
    assert.deepEqual(row['jwks'], { keys: [jwk] });

    // The profile: https redirect URIs, private_key_jwt; PAR and DPoP follow from it.
    const fapi = JSON.parse(
      (
        await run([
          'clients',
          'update',
          c.client_id,
          '--profile',
          'fapi2',
          '--no-dpop-bound',
          '--json',
          '--db',
          db,
        ])
      ).stdout,
    );
    assert.equal(fapi.profile, 'fapi2');
    assert.equal(fapi.require_pushed_authorization_requests, true);
    assert.equal(fapi.dpop_bound_access_tokens, true, 'fapi2 binds tokens whatever the switch says');
    const httpUri = await run([
      'clients',
      'update',
      c.client_id,
      '--redirect-uri',
      'http://127.0.0.1/cb',
      '--db',
      db,
    ]);
    assert.notEqual(httpUri.code, 0);
    assert.match(httpUri.stderr, /fapi2 profile takes https redirect URIs only/);
    const secretMethod = await run([
      'clients',
      'update',
      c.client_id,
      '--token-endpoint-auth-method',
      'client_secret_basic',
      '--db',
      db,
    ]);
    assert.match(secretMethod.stderr, /fapi2 profile needs token_endpoint_auth_method private_key_jwt/);

    // Back to a secret: the profile off, then the method; the new secret is printed once.
    await run(['clients', 'update', c.client_id, '--profile', 'none', '--db', db]);
    const basic = JSON.parse(
      (
        await run([
          'clients',
          'update',
          c.client_id,
          '--token-endpoint-auth-method',
          'client_secret_basic',
          '--json',
          '--db',
          db,
        ])
      ).stdout,
    );
    assert.match(basic.client_secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(basic.jwks.keys.length, 1, 'the keys stay until removed');

    // Refusals: no keys for private_key_jwt, no secret sealing without LATCHKEY_KEY_ENCRYPTION_KEY,
    // a jwks_uri that is not https, a file that is not JSON.
    const noKeys = await run([
      ...base,
      '--name',
      'x',
      '--token-endpoint-auth-method',
      'private_key_jwt',
      '--db',
      db,
    ]);
    assert.match(noKeys.stderr, /private_key_jwt needs the application's public keys/);
    const hs = await run([
      ...base,
      '--name',
      'x',
      '--token-endpoint-auth-method',
      'client_secret_jwt',
      '--db',
      db,
    ]);
    assert.match(hs.stderr, /client_secret_jwt needs LATCHKEY_KEY_ENCRYPTION_KEY/);
    const httpJwks = await run([
      ...base,
      '--name',
      'x',
      '--jwks-uri',
      'http://keys.example.com/jwks',
      '--db',
      db,
    ]);
    assert.match(httpJwks.stderr, /jwks_uri: the URL must use https/);
    writeFileSync(jwksFile, 'not json');
    const bad = await run([...base, '--name', 'x', '--jwks-file', jwksFile, '--db', db]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /is not JSON/);
  });

  it('keys list and rotate', async () => {
    const rot = JSON.parse((await run(['keys', 'rotate', '--json', '--db', db])).stdout);
    assert.equal(rot.generation, 2);
    const keys = JSON.parse((await run(['keys', 'list', '--json', '--db', db])).stdout);
    assert.equal(keys.length, 2);
    assert.ok(keys.every((k: { kid: string; alg: string }) => k.kid && k.alg === 'RS256'));
    assert.ok(rot.es256_kid, 'every generation has an ES256 key for LATCHKEY_ACCESS_TOKEN_ALG=ES256');
    assert.equal(keys[0].es256_kid, rot.es256_kid);
  });
});
