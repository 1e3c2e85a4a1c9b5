/**
 * Latchkey as users install it: `npm pack`, `npm install ./latchkey-*.tgz` in a fresh folder
 * (better-sqlite3 is built there as on any machine), then the commands through the bin link:
 * `npm exec latchkey -- --help`, `node_modules/.bin/latchkey clients list --json`, and
 * `npx latchkey serve --demo`. A command that prints nothing fails the test.
 */
import assert from 'node:assert/strict';
import { type SpawnOptions, spawn } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLEAN_ENV, ROOT } from '../helpers/cli.js';
import { freePort, tempDir } from '../helpers/server.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...CLEAN_ENV, LATCHKEY_LOG_LEVEL: 'silent' }, ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the packed package, installed and run through its bin link', () => {
  let dir: string;
  let app: string;
  let install: Run;

  before(async () => {
    dir = tempDir('latchkey-pack-');
    // test/run.mjs has built dist/ already.
    const pack = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
    });
    assert.equal(pack.code, 0, pack.stderr);
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'npm pack made a tarball');
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const f of ['LICENSE', 'README.md', 'CHANGELOG.md', 'SECURITY.md', 'dist/cli/latchkey.js'])
      assert.ok(files.includes(f), `${f} is in the package`);
    app = join(dir, 'app');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'uses-latchkey', private: true }));
    install = await sh('npm', ['install', '--no-audit', '--no-fund', join(dir, tgz)], {
      cwd: app,
      timeoutMs: 8 * 60_000,
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('installs; no engine warning but cookie 2 on Node 20 (Fastify packages choose it; our overrides do not reach)', () => {
    assert.equal(install.code, 0, install.stderr);
    // npm applies package.json overrides only to the project being installed, so an app that
    // installs Latchkey gets Fastify's cookie 2, which declares Node >= 22 but runs on >= 20.19
    // (require of ES modules); the last test starts the server from this very install.
    const warned = [...install.stderr.matchAll(/EBADENGINE[\s\S]*?package: '([^']+)'/g)].map((m) => m[1]);
    const major = Number(process.versions.node.split('.')[0]);
    for (const pkg of warned)
      assert.ok(major < 22 && /^cookie@2\./.test(pkg ?? ''), `engine warning for ${pkg}`);
  });

  it('npm exec latchkey -- --help prints the help, in the project and in the installing one', async () => {
    for (const cwd of [ROOT, app]) {
      // In this checkout npm installs the project itself into its exec cache, which runs its
      // `prepare` (a rebuild of dist/ while the other test files use it): --ignore-scripts.
      const r = await sh('npm', ['exec', '--no', '--ignore-scripts', 'latchkey', '--', '--help'], { cwd });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /latchkey serve/, `help from ${cwd}`);
    }
  });

  it('node_modules/.bin/latchkey clients list --json prints JSON', async () => {
    const r = await sh(
      join(app, 'node_modules/.bin/latchkey'),
      ['clients', 'list', '--json', '--db', './app.db'],
      {
        cwd: app,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout.trim(), '', 'no empty output');
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  it('node_modules/.bin/latchkey purge --json and audit export print what they document', async () => {
    const bin = join(app, 'node_modules/.bin/latchkey');
    const purge = await sh(bin, ['purge', '--json', '--db', './app.db'], { cwd: app });
    assert.equal(purge.code, 0, purge.stderr);
    const out = JSON.parse(purge.stdout) as { deleted: Record<string, number>; ms: number };
    assert.deepEqual(Object.keys(out), ['deleted', 'ms']);
    assert.equal(out.deleted['sessions'], 0);
    assert.equal(typeof out.ms, 'number');
    // Creating an application writes an audit event; the export prints it as one JSON line.
    const made = await sh(
      bin,
      ['clients', 'create', '--name', 'Exported', '--type', 'service', '--db', './app.db'],
      {
        cwd: app,
      },
    );
    assert.equal(made.code, 0, made.stderr);
    const exported = await sh(bin, ['audit', 'export', '--since', '1h', '--db', './app.db'], { cwd: app });
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout.trim().split('\n');
    assert.equal(lines.length, 1, exported.stdout);
    assert.equal((JSON.parse(lines[0]!) as { type: string }).type, 'client_created');
  });

  it('node_modules/.bin/latchkey apis create --json, with a quoted scope description, and apis list', async () => {
    const bin = join(app, 'node_modules/.bin/latchkey');
    const made = await sh(
      bin,
      [
        'apis',
        'create',
        '--identifier',
        'https://api.example.com',
        '--name',
        'Orders API',
        '--scope',
        'orders:read=Read your orders',
        '--json',
        '--db',
        './app.db',
      ],
      { cwd: app },
    );
    assert.equal(made.code, 0, made.stderr);
    const api = JSON.parse(made.stdout) as { identifier: string; scopes: unknown };
    assert.equal(api.identifier, 'https://api.example.com');
    assert.deepEqual(api.scopes, [{ value: 'orders:read', description: 'Read your orders' }]);
    const list = await sh(bin, ['apis', 'list', '--json', '--db', './app.db'], { cwd: app });
    assert.equal(list.code, 0, list.stderr);
    const ids = (JSON.parse(list.stdout) as { identifier: string }[]).map((a) => a.identifier);
    assert.deepEqual(ids, ['api://default', 'https://api.example.com']);
  });

  it('npx latchkey serve --demo starts, answers and stops', async () => {
    const port = await freePort();
    const child = spawn('npx', ['--no', 'latchkey', 'serve', '--demo', '--port', String(port)], {
      cwd: app,
      env: { ...CLEAN_ENV, LATCHKEY_LOG_LEVEL: 'warn' },
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no banner: ${out}`)), 30_000);
        child.stdout.on('data', () => {
          if (out.includes('code_verifier for the token exchange')) {
            clearTimeout(t);
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`exited: ${out}`)));
      });
      assert.match(out, /DEMO MODE/);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      const discovery = (await (
        await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)
      ).json()) as {
        issuer: string;
      };
      assert.equal(discovery.issuer, `http://localhost:${port}`);
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await new Promise((resolve) => child.on('close', resolve));
    }
  });
});
