/** `latchkey backup` / `latchkey restore` on SQLite, with a real server process running. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { spawnServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/server.js';

const dir = tempDir('latchkey-backup-');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('backup and restore (SQLite)', () => {
  test('backup while a server runs, restore refused while it runs, allowed after', async () => {
    const db = join(dir, 'latchkey.db');
    const server = spawnServe(db);
    try {
      await server.ready;
      const made = await runCli([
        'clients',
        'create',
        '--db',
        db,
        '--name',
        'App',
        '--type',
        'service',
        '--json',
      ]);
      assert.equal(made.code, 0, made.stderr);
      const clientId = (JSON.parse(made.stdout) as { client_id: string }).client_id;

      const copy = join(dir, 'copy.db');
      const b = await runCli(['backup', '--db', db, '--to', copy, '--json']);
      assert.equal(b.code, 0, b.stderr);
      const out = JSON.parse(b.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(out), ['path', 'bytes', 'integrity']);
      assert.equal(out['path'], copy);
      assert.equal(out['integrity'], 'ok');
      assert.ok(typeof out['bytes'] === 'number' && out['bytes'] > 0);

      const refused = await runCli(['restore', '--from', copy, '--db', db]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(refused.stderr.trimEnd().split('\n').length, 1);
      assert.match(refused.stderr, /in use by a running Latchkey process/);

      const fresh = join(dir, 'fresh.db');
      const r = await runCli(['restore', '--from', copy, '--db', fresh]);
      assert.equal(r.code, 0, r.stderr);
      const listed = await runCli(['clients', 'list', '--db', fresh, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(clientId));

      await server.stop();
      const over = await runCli(['restore', '--from', copy, '--db', db]);
      assert.equal(over.code, 0, over.stderr);
      const again = spawnServe(db);
      try {
        await again.ready;
      } finally {
        await again.stop();
      }
    } finally {
      await server.stop();
    }
  });

  test('wrong usage exits 2; PostgreSQL and a missing database are one-line errors', async () => {
    for (const args of [['backup'], ['restore'], ['backup', '--to', 'x', '--nope']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    const pg = await runCli(['backup', '--to', join(dir, 'x.db'), '--db', 'postgres://u@127.0.0.1/x']);
    assert.equal(pg.code, 1);
    assert.match(pg.stderr, /pg_dump.*docs\/operations\.md/);
    const missing = await runCli(['backup', '--to', join(dir, 'y.db'), '--db', join(dir, 'none.db')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
  });
});
