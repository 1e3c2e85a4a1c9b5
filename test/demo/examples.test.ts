/**
 * The three examples/ against the demo server, as the docs tell a newcomer to run them: one
 * issuer everywhere (http://localhost:3000 in the docs; here the same host on a free port).
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { CLEAN_ENV, ROOT, spawnCli } from '../helpers/cli-process.js';
import { authorizeQuery, pkce } from '../helpers/flow.js';
import { freePort, tempDir } from '../helpers/server.js';

function waitFor(
  child: ChildProcessWithoutNullStreams,
  pattern: RegExp,
  what: string,
): Promise<RegExpExecArray> {
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no ${pattern} in ${out}`)), 30_000);
    const check = () => {
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    };
    child.stdout.on('data', (d) => {
      out += d;
      check();
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (!pattern.exec(out)) reject(new Error(`${what} exited ${code}: ${out}`));
    });
  });
}

const example = (file: string, args: string[], env: Record<string, string> = {}) =>
  spawn(process.execPath, ['--import', 'tsx', join('examples', file), ...args], {
    cwd: ROOT,
    env: { ...CLEAN_ENV, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });

const stop = (child: ChildProcessWithoutNullStreams) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.on('close', () => resolve());
    child.kill('SIGTERM');
  });

describe('examples/ against serve --demo', () => {
  let dir: string;
  let server: ChildProcessWithoutNullStreams;
  let issuer: string;
  let clientId: string;
  let password: string;
  const children: ChildProcessWithoutNullStreams[] = [];

  before(async () => {
    dir = tempDir('latchkey-examples-');
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    server = spawnCli(['serve', '--demo', '--port', String(port), '--db', join(dir, 'demo.db')], {
      env: { LATCHKEY_LOG_LEVEL: 'warn' },
    });
    const m = await waitFor(server, /client_id (\S+)[\s\S]*password: (\S+)[\s\S]*={78}\n/, 'serve --demo');
    clientId = m[1]!;
    password = m[2]!;
  });
  after(async () => {
    for (const c of children) await stop(c);
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The demo user signs in; the code comes back to a loopback URI; the token request follows. */
  async function accessToken(): Promise<string> {
    const p = pkce();
    const redirectUri = 'http://127.0.0.1:5999/callback';
    const browser = new Browser(issuer);
    const step = await authorizeThroughBrowser(
      browser,
      `/authorize?${authorizeQuery({ clientId, redirectUri }, p.challenge, { scope: 'openid profile' })}`,
      { username: 'demo', password },
    );
    const code = new URL(step.location ?? '').searchParams.get('code');
    assert.ok(code, step.body.slice(0, 200));
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: clientId,
        code_verifier: p.verifier,
      }),
    });
    assert.equal(res.status, 200);
    return String(((await res.json()) as { access_token: string }).access_token);
  }

  it('native-login.ts signs in through its loopback receiver, refreshes and revokes', async () => {
    const child = example('native-login.ts', [issuer, clientId]);
    children.push(child);
    const done = waitFor(child, /Refreshed; new access token expires at/, 'native-login.ts');
    const url = (await waitFor(child, /Open this URL to sign in:\n(\S+)\n/, 'native-login.ts'))[1]!;
    const step = await authorizeThroughBrowser(new Browser(issuer), url, { username: 'demo', password });
    assert.equal(step.status, 303);
    assert.match(step.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/);
    // The system browser follows the redirect to the app's loopback receiver.
    await fetch(step.location!);
    await done;
    assert.equal(await new Promise((resolve) => child.on('close', resolve)), 0);
  });

  for (const [file, path] of [
    ['protected-api-express.ts', '/me'],
    ['protected-api-fastify.ts', '/orders'],
  ] as const) {
    it(`${file} accepts the demo server's access token and refuses none`, async () => {
      const port = await freePort();
      const child = example(file, [issuer], { PORT: String(port) });
      children.push(child);
      await waitFor(child, /protected API on/, file);
      const token = await accessToken();
      const ok = await fetch(`http://127.0.0.1:${port}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(ok.status, 200, await ok.clone().text());
      const none = await fetch(`http://127.0.0.1:${port}${path}`);
      assert.equal(none.status, 401);
      await stop(child);
    });
  }
});
