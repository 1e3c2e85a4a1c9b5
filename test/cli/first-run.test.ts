/**
 * The first run as a newcomer meets it: every command answers --help, errors name only flags
 * that exist, client ids never read as options (and "--" ends the options), loopback by default.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { USAGE } from '../../src/cli/usage.js';
import { loadConfig } from '../../src/config.js';
import { openStorage } from '../../src/storage/index.js';
import { runCli as run } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

describe('latchkey first run', () => {
  let dir: string;
  let db: string;
  before(() => {
    dir = tempDir('latchkey-first-run-');
    db = join(dir, 'cli.db');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every command answers --help (and -h) with its usage, exit 0, touching no database', async () => {
    const commands = [
      'serve',
      'migrate',
      'clients',
      'users',
      'keys',
      'audit',
      'login',
      'whoami',
      'token',
      'logout',
      'sample-api',
    ];
    for (const cmd of commands) assert.ok(USAGE[cmd], `usage of ${cmd}`);
    for (const cmd of commands) {
      const r = await run([cmd, '--help', '--db', join(dir, 'never.db')]);
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`latchkey ${cmd}`), cmd);
    }
    const sub = await run(['clients', 'update', '-h']);
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /latchkey clients update/);
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(join(dir, 'never.db')), false);
  });

  it('a bad setting names the environment variable, and a flag only where serve has one', async () => {
    const ttl = await run(['serve', '--db', db], { env: { LATCHKEY_CODE_TTL: '0' } });
    assert.equal(ttl.code, 1);
    assert.match(
      ttl.stderr,
      /^latchkey: LATCHKEY_CODE_TTL must be a time from 1s to 10m: seconds, or a duration such as 90s/,
    );
    assert.doesNotMatch(ttl.stderr, /--code-ttl/);
    const port = await run(['serve', '--port', 'abc', '--db', db]);
    assert.match(port.stderr, /PORT \(--port\) must be a whole number/);
    // Every flag an error message names is one `serve --help` lists.
    for (const [env, value] of Object.entries({
      LATCHKEY_ACCESS_TOKEN_TTL: '1',
      LATCHKEY_SESSION_TTL: 'x',
      LATCHKEY_LOG_LEVEL: 'loud',
      LATCHKEY_ISSUER: 'ftp://x',
    })) {
      const r = await run(['serve', '--db', db], { env: { [env]: value } });
      assert.equal(r.code, 1, env);
      for (const flag of r.stderr.match(/--[a-z-]+/g) ?? [])
        assert.ok(USAGE['serve']!.includes(flag), `${env}: ${flag}`);
    }
  });

  it('client ids never start with "-"; "--" ends the options for an id that does', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await run([
        'clients',
        'create',
        '--name',
        `App ${i}`,
        '--type',
        'native',
        '--redirect-uri',
        'http://127.0.0.1/cb',
        '--json',
        '--db',
        db,
      ]);
      assert.equal(r.code, 0, r.stderr);
      ids.push(JSON.parse(r.stdout).client_id);
    }
    for (const id of ids) assert.match(id, /^[A-Za-z0-9]/);
    // An application made before this rule, whose id starts with "-".
    const storage = await openStorage(db);
    const { ClientAdmin } = await import('../../src/admin/clients.js');
    const { systemClock } = await import('../../src/clock.js');
    await new ClientAdmin(storage.clients, systemClock).create({
      clientId: '-3xOldStyleId',
      name: 'Old',
      type: 'native',
      redirectUris: ['http://127.0.0.1/cb'],
    });
    await storage.close();
    const without = await run(['clients', 'update', '-3xOldStyleId', '--name', 'Renamed', '--db', db]);
    assert.equal(without.code, 2);
    const withDashes = await run([
      'clients',
      'update',
      '--name',
      'Renamed',
      '--json',
      '--db',
      db,
      '--',
      '-3xOldStyleId',
    ]);
    assert.equal(withDashes.code, 0, withDashes.stderr);
    assert.equal(JSON.parse(withDashes.stdout).name, 'Renamed');
    const del = await run(['clients', 'delete', '--db', db, '--', '-3xOldStyleId']);
    assert.equal(del.code, 0, del.stderr);
  });

  it('listens on loopback unless LATCHKEY_HOST or --host says otherwise', () => {
    assert.equal(loadConfig({}, {}).host, '127.0.0.1');
    assert.equal(loadConfig({}, { LATCHKEY_HOST: '0.0.0.0' }).host, '0.0.0.0');
    assert.equal(loadConfig({ host: '::' }, {}).host, '::');
  });
});
