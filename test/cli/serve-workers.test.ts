/**
 * `latchkey serve --workers` refusals, through the built command: a bad count (flag or
 * LATCHKEY_WORKERS) is a usage error, exit 2 and one line, before anything starts; a start that
 * fails in the workers is reported once, exit 1, as a single process reports it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCliProcess } from '../helpers/cli-process.js';
import { tempDir } from '../helpers/server.js';

describe('serve --workers: bad values', () => {
  let dir: string;
  before(() => {
    dir = tempDir('latchkey-workers-cli-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const bad of ['0', '-1', 'abc', '1.5', '257', '']) {
    test(`--workers ${JSON.stringify(bad)}: exit 2, one line`, async () => {
      const db = join(dir, 'never.db');
      const r = await runCliProcess(['serve', '--port', '0', '--db', db, `--workers=${bad}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(
        r.stderr.trim(),
        `latchkey: --workers must be a whole number from 1 to 256, or auto (got ${JSON.stringify(bad)})`,
      );
      assert.equal(r.stdout, '');
    });
  }

  test('LATCHKEY_WORKERS=abc: exit 2, naming the variable', async () => {
    const r = await runCliProcess(['serve', '--port', '0', '--db', join(dir, 'never.db')], {
      env: { LATCHKEY_WORKERS: 'abc' },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^latchkey: LATCHKEY_WORKERS must be a whole number from 1 to 256, or auto/);
  });

  test('a start that fails in every worker is reported once, exit 1', async () => {
    const r = await runCliProcess([
      'serve',
      '--port',
      '0',
      '--workers',
      '2',
      '--db',
      join(dir, 'no/such/dir/x.db'),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^latchkey: /);
    assert.doesNotMatch(r.stdout, /listening/);
  });
});
