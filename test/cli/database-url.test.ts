/**
 * A database setting that names no usable database is a one-line error at start (issue 13, "The
 * first run" and "A database outage"): unknown URL schemes, a SQLite file in a folder that does not
 * exist (except the default ./data), a read-only SQLite file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { BUILT_CLI, CLEAN_ENV, ROOT } from '../helpers/cli-process.js';
import { tempDir } from '../helpers/server.js';

const dir = tempDir('latchkey-dburl-');
after(() => rmSync(dir, { recursive: true, force: true }));

function oneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, pattern);
}

describe('database settings that name no usable database', () => {
  for (const url of ['mysql://root@db/latchkey', 'postgress://u:secret@db/latchkey', 'file:///tmp/x.db']) {
    test(`--db ${url}: unknown scheme, exit 1, one line`, async () => {
      const r = await runCli(['migrate', '--db', url], { env: { LATCHKEY_DATABASE: '' } });
      assert.equal(r.code, 1, r.stderr);
      oneLine(r.stderr, /unknown database scheme "[a-z]+:"/);
      assert.doesNotMatch(r.stderr, /secret/, 'the password is not shown');
    });
  }

  test('LATCHKEY_DATABASE with an unknown scheme is refused the same way by serve', async () => {
    const r = await runCli(['serve', '--port', '0'], { env: { LATCHKEY_DATABASE: 'mysql://db/latchkey' } });
    assert.equal(r.code, 1, r.stderr);
    oneLine(r.stderr, /unknown database scheme "mysql:"/);
  });

  test('a SQLite path whose folder does not exist: exit 1, nothing created', async () => {
    const missing = join(dir, 'no-such-folder', 'deeper', 'latchkey.db');
    const r = await runCli(['migrate', '--db', missing]);
    assert.equal(r.code, 1, r.stderr);
    oneLine(r.stderr, /folder of database .* does not exist/);
    assert.equal(existsSync(join(dir, 'no-such-folder')), false);
  });

  test('the default data folder is still made on a first run', async () => {
    const cwd = tempDir('latchkey-dburl-default-');
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BUILT_CLI, 'migrate'], {
          cwd,
          env: { ...CLEAN_ENV, LATCHKEY_DATABASE: '', LATCHKEY_LOG_LEVEL: 'silent' },
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(cwd, 'data', 'latchkey.db')));
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('a read-only database file in a writable folder: serve refuses to start, one line naming the file', async () => {
    const folder = tempDir('latchkey-dburl-ro-');
    try {
      const file = join(folder, 'latchkey.db');
      const made = await runCli(['migrate', '--db', file]);
      assert.equal(made.code, 0, made.stderr);
      for (const f of [`${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      chmodSync(file, 0o444);
      // The folder stays writable (for -wal, -shm and the lock file); root ignores file modes,
      // so as root the command runs as nobody.
      chmodSync(folder, 0o777);
      writeFileSync(`${file}-lock`, '');
      chmodSync(`${file}-lock`, 0o666);
      const asRoot = process.getuid?.() === 0;
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BUILT_CLI, 'serve', '--db', file, '--port', '0'], {
          cwd: ROOT,
          env: { ...CLEAN_ENV, LATCHKEY_LOG_LEVEL: 'silent' },
          ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (code) => {
          clearTimeout(t);
          resolve({ code, stderr });
        });
      });
      assert.equal(r.code, 1, r.stderr);
      oneLine(
        r.stderr,
        new RegExp(`database file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is read-only`),
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
