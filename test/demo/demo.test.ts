/**
 * `latchkey serve --demo` as a newcomer meets it: started through the package's bin, the printed
 * authorize URL opened in real Chromium, signed in with the printed password, landing on the
 * server's own /demo/callback page (code + curl), the exchange button showing the tokens; a second
 * start on the same database says how to get a password back and prints a fresh URL and verifier.
 */
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { runCli as run } from '../helpers/cli.js';
import { spawnCli } from '../helpers/cli-process.js';
import { freePort, tempDir } from '../helpers/server.js';

async function startDemo(
  db: string,
  port: number,
): Promise<{ child: ChildProcessWithoutNullStreams; out: string }> {
  const child = spawnCli(['serve', '--demo', '--port', String(port), '--db', db], {
    env: { LATCHKEY_LOG_LEVEL: 'warn' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no demo banner: ${out}`)), 20_000);
    const check = () => {
      if (/={78}\n[\s\S]*={78}\n/.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
  return { child, out };
}

const stop = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on('close', resolve);
    child.kill('SIGTERM');
  });

describe('serve --demo', () => {
  let dir: string;
  let browser: Browser;
  let port: number;
  before(async () => {
    requireChromium();
    dir = tempDir('latchkey-demo-');
    port = await freePort();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in from the printed URL and lands on its own callback page, which exchanges the code', async () => {
    const db = join(dir, 'demo.db');
    const { child, out } = await startDemo(db, port);
    try {
      const url = /^ {2}(http:\/\/localhost:\d+\/authorize\?\S+)$/m.exec(out)?.[1];
      const password = /password: (\S+)/.exec(out)?.[1];
      const verifier = /code_verifier for the token exchange: (\S+)/.exec(out)?.[1];
      assert.ok(url && password && verifier, out);
      assert.match(out, new RegExp(`redirect_uri=http%3A%2F%2Flocalhost%3A${port}%2Fdemo%2Fcallback`));
      assert.match(out, /curl -X POST http:\/\/localhost:\d+\/token/);
      assert.match(out, /Admin console: http:\/\/localhost:\d+\/admin/);
      assert.doesNotMatch(out, /reachable from other hosts/, 'the demo listens on loopback by default');

      const page = await (await browser.newContext()).newPage();
      await page.goto(url);
      await page.fill('#username', 'demo');
      await page.fill('#password', password);
      await page.click('button[type=submit]');
      await page.waitForURL(/\/demo\/callback\?/);
      const landed = new URL(page.url());
      const code = landed.searchParams.get('code');
      assert.ok(code);
      assert.equal(landed.searchParams.get('iss'), `http://localhost:${port}`);
      assert.equal(await page.textContent('#code'), code);
      const curl = (await page.textContent('#curl')) ?? '';
      assert.match(curl, new RegExp(`-d code=${code.replace(/[-]/g, '\\-')}`));
      assert.match(curl, new RegExp(`-d code_verifier=${verifier.replace(/[-]/g, '\\-')}`));
      await page.screenshot({ path: '/tmp/latchkey-demo-callback.png', fullPage: true });

      await page.click('button[type=submit]');
      await page.waitForSelector('h1');
      const text = (await page.textContent('main')) ?? '';
      await page.screenshot({ path: '/tmp/latchkey-demo-tokens.png', fullPage: true });
      assert.match(text, /Tokens from \/token/);
      assert.match(text, /access_token/);
      assert.match(text, /"typ": "at\+jwt"/);
      assert.match(text, /"preferred_username": "demo"|"sub":/);
      assert.match(text, /refresh_token/);

      // The printed verifier is used once: back on the callback page, no exchange is offered again.
      await page.goBack();
      await page.waitForSelector('#code');
      assert.equal(await page.locator('button[type=submit]').count(), 0);
      assert.match((await page.textContent('main')) ?? '', /its code verifier is unknown here/);
    } finally {
      assert.equal(await stop(child), 0);
    }
  });

  it('a second start prints a fresh URL and verifier and says how to set the demo password again', async () => {
    const db = join(dir, 'demo.db');
    const first = await startDemo(db, port);
    await stop(first.child);
    const second = await startDemo(db, port);
    await stop(second.child);
    const verifiers = [first.out, second.out].map(
      (o) => /code_verifier for the token exchange: (\S+)/.exec(o)?.[1],
    );
    assert.ok(verifiers[0] && verifiers[1]);
    assert.notEqual(verifiers[0], verifiers[1]);
    assert.match(second.out, /Demo data from an earlier start/);
    assert.match(second.out, /latchkey users set-password demo --password-stdin/);
    assert.doesNotMatch(second.out, /password: \S+/);
  });

  it('warns when the demo server listens beyond loopback', async () => {
    const child = spawnCli(
      ['serve', '--demo', '--port', '0', '--host', '0.0.0.0', '--db', join(dir, 'wide.db')],
      {
        env: { LATCHKEY_LOG_LEVEL: 'silent' },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(out)), 20_000);
      child.stdout.on('data', () => {
        if (out.includes('reachable from other hosts')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    await stop(child);
  });
});

describe('serve --demo data', () => {
  let dir: string;
  before(() => {
    dir = tempDir('latchkey-demo-data-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serve --demo creates demo data on an empty database only, and stops on SIGTERM', async () => {
    const demoDb = join(dir, 'demo.db');
    const port = String(await freePort());
    const child = spawnCli(['serve', '--demo', '--port', port, '--db', demoDb], {
      env: { LATCHKEY_LOG_LEVEL: 'silent' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no demo output: ${out}`)), 20000);
      child.stdout.on('data', () => {
        if (out.includes('code_verifier')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    assert.match(out, /DEVELOPMENT ONLY/);
    assert.match(out, /client_id \S+/);
    assert.match(out, /user\s+: demo\s+password: \S+/);
    assert.match(out, /\/authorize\?response_type=code&client_id=/);
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
    const users = JSON.parse((await run(['users', 'list', '--json', '--db', demoDb])).stdout);
    assert.equal(users.length, 1);
    // A plain serve never creates demo data.
    const plainDb = join(dir, 'plain.db');
    assert.equal((await run(['migrate', '--db', plainDb])).code, 0);
    assert.deepEqual(JSON.parse((await run(['users', 'list', '--json', '--db', plainDb])).stdout), []);
  });
});
