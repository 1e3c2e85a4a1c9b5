/**
 * The sample native app: `latchkey login --no-browser` run as a real child process against a
 * real server, the browser side driven through the HTML form, then `token`, `whoami`, `logout`;
 * and `latchkey login --dpop` through the bin (dist/cli/latchkey.js) against a server that
 * requires DPoP nonces; and `latchkey login --device` (RFC 8628) through the bin, approved at
 * the real /device pages.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { main } from '../../src/cli/main.js';
import { currentSession, runLogout, runWhoami, type SampleIO } from '../../src/cli/samples.js';
import { DpopKey } from '../../src/client/index.js';
import { FileTokenStore } from '../../src/client/node.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { runCliProcess, spawnCli } from '../helpers/cli-process.js';
import { approveInBrowser, createDeviceClient } from '../helpers/device.js';
import { createClient, createUser, startTestServer, type TestServer, tempDir } from '../helpers/server.js';

/** The CLI from source (tsx), with the given environment added. */
const cli = (args: string[], env: Record<string, string>) => spawnCli(args, { from: 'source', env });

async function run(args: string[], env: Record<string, string>) {
  const r = await runCliProcess(args, { from: 'source', env });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe('latchkey login / token / whoami / logout', () => {
  let server: TestServer;
  let user: { id: string };
  let configDir: string;
  let env: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    user = await createUser(server);
    configDir = join(tempDir('latchkey-cli-'), 'cfg');
    env = { LATCHKEY_CONFIG_DIR: configDir };
  });
  after(() => server.cleanup());
  const quietIO = (): SampleIO => ({ out() {}, err() {}, openBrowser: async () => false, configDir });

  it('signs in through the loopback redirect and stores the tokens 0600', async () => {
    const app = await createClient(server, { type: 'native', consent: 'required' });
    const child = cli(['login', '--issuer', server.issuer, '--client-id', app.clientId, '--no-browser'], env);
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    const authorizeUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('http'));
        if (line) resolve(line.trim());
      });
      child.on('close', () => reject(new Error(`login exited early: ${err}`)));
    });
    const url = new URL(authorizeUrl);
    assert.equal(url.searchParams.get('scope'), 'openid profile email offline_access');
    assert.match(url.searchParams.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const browser = new Browser(server.url);
    const final = await authorizeThroughBrowser(browser, authorizeUrl, { consent: 'allow' });
    assert.equal(final.status, 303);
    const landing = await browser.get(final.location!);
    assert.equal(landing.status, 200);
    assert.equal(await exited, 0, err);
    assert.match(err, new RegExp(`Signed in as ${user.id}`));

    const file = join(configDir, 'tokens.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(configDir).mode & 0o777, 0o700);
    const stored = await new FileTokenStore(configDir).load();
    assert.equal(stored?.subject, user.id);
    assert.ok(stored?.refreshToken);
  });

  it('`latchkey token` prints only the access token; whoami calls userinfo', async () => {
    const stored = await new FileTokenStore(configDir).load();
    const tok = await run(['token'], env);
    assert.equal(tok.code, 0, tok.err);
    assert.equal(tok.out, `${stored!.accessToken}\n`);
    let printed = '';
    const info = await runWhoami({ ...quietIO(), out: (t) => (printed += t) });
    assert.equal(info['sub'], user.id);
    assert.equal(JSON.parse(printed).email, 'alice@example.com');
  });

  it('refreshes (and stores the rotated refresh token) when the access token is about to expire', async () => {
    const io = quietIO();
    const before = await new FileTokenStore(configDir).load();
    const later = () => before!.expiresAt! - 10_000; // less than the refresh margin left
    // Two at once (as two shells running `latchkey token` would): one refresh, both get its result.
    const [s, twin] = await Promise.all([currentSession(io, later), currentSession(io, later)]);
    assert.equal(twin.accessToken, s.accessToken);
    assert.ok(!existsSync(join(configDir, 'tokens.lock')), 'the lock is released');
    assert.notEqual(s.accessToken, before!.accessToken);
    assert.notEqual(s.refreshToken, before!.refreshToken);
    assert.equal(s.subject, user.id);
    const stored = await new FileTokenStore(configDir).load();
    assert.equal(stored!.refreshToken, s.refreshToken);
    assert.equal(statSync(join(configDir, 'tokens.json')).mode & 0o777, 0o600);
  });

  it('logout revokes and forgets', async () => {
    const stored = await new FileTokenStore(configDir).load();
    let said = '';
    await runLogout({ ...quietIO(), err: (t) => (said += t) });
    assert.match(said, /Signed out/);
    assert.doesNotMatch(said, /Warning/);
    assert.ok(!existsSync(join(configDir, 'tokens.json')));
    // The refresh token no longer works at the server.
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: stored!.refreshToken!,
        client_id: stored!.clientId,
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
    await assert.rejects(currentSession(quietIO()), /not signed in/);
  });

  it('rejects bad flags with a usage error (exit 2)', async () => {
    const write = process.stderr.write;
    let err = '';
    process.stderr.write = ((chunk: string) => {
      err += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      for (const args of [
        ['login'],
        ['login', '--issuer', 'nope', '--client-id', 'x'],
        ['login', '--issuer', server.issuer],
        ['login', '--bogus'],
        ['token', 'extra'],
        ['sample-api'],
        ['sample-api', '--issuer', server.issuer, '--port', 'x'],
      ]) {
        err = '';
        assert.equal(await main(args), 2, `${args.join(' ')}: ${err}`);
        assert.match(err, /^latchkey: /);
      }
    } finally {
      process.stderr.write = write;
    }
  });
});

describe('latchkey login --dpop (the bin, against a server that requires DPoP nonces)', () => {
  let server: TestServer;
  let user: { id: string };
  let configDir: string;
  let env: Record<string, string>;

  before(async () => {
    server = await startTestServer({ overrides: { dpopNonce: true } });
    user = await createUser(server);
    configDir = join(tempDir('latchkey-cli-dpop-'), 'cfg');
    env = { LATCHKEY_CONFIG_DIR: configDir };
  });
  after(() => server.cleanup());

  it('binds the tokens to its key and shows token_type DPoP and cnf.jkt; whoami and refresh prove the key', async () => {
    const app = await createClient(server, { type: 'native' });
    const child = spawnCli(
      ['login', '--issuer', server.issuer, '--client-id', app.clientId, '--no-browser', '--dpop'],
      { env },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    const authorizeUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('http'));
        if (line) resolve(line.trim());
      });
      child.on('close', () => reject(new Error(`login exited early: ${err}`)));
    });
    const browser = new Browser(server.url);
    const final = await authorizeThroughBrowser(browser, authorizeUrl, { consent: 'allow' });
    assert.equal(final.status, 303);
    await browser.get(final.location!);
    assert.equal(await exited, 0, err);
    assert.match(err, new RegExp(`Signed in as ${user.id}`));
    assert.match(err, /^token_type: DPoP$/m);
    const shown = /^cnf\.jkt: (\S+)$/m.exec(err)?.[1];
    assert.ok(shown, err);

    const stored = (await new FileTokenStore(configDir).load())!;
    assert.equal(stored.tokenType, 'DPoP');
    assert.equal(statSync(join(configDir, 'tokens.json')).mode & 0o777, 0o600);
    const key = await DpopKey.fromPrivateJwk(stored.dpopKey!);
    assert.equal(shown, key.thumbprint, "the thumbprint shown is the saved key's");
    assert.deepEqual(decodeJwt(stored.accessToken)['cnf'], { jkt: key.thumbprint });

    const who = await runCliProcess(['whoami'], { env });
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).sub, user.id);

    // The refresh `latchkey token` makes when the token is about to expire proves the same key.
    const io: SampleIO = { out() {}, err() {}, openBrowser: async () => false, configDir };
    const next = await currentSession(io, () => stored.expiresAt! - 10_000);
    assert.notEqual(next.accessToken, stored.accessToken);
    assert.equal(next.tokenType, 'DPoP');
    assert.deepEqual(decodeJwt(next.accessToken)['cnf'], { jkt: key.thumbprint });
    assert.deepEqual(next.dpopKey, stored.dpopKey);

    const help = await runCliProcess(['login', '--help'], { env });
    assert.match(help.stdout + help.stderr, /--dpop/);
  });
});

describe('latchkey login --device (the bin; RFC 8628)', () => {
  let server: TestServer;
  let user: { id: string };
  let env: Record<string, string>;

  before(async () => {
    // The child process polls with real timers: the shortest interval the server allows (1 s).
    // The test does not sleep: it approves as soon as the code is printed, then awaits the exit.
    server = await startTestServer({ overrides: { deviceIntervalSec: 1 } });
    user = await createUser(server);
    env = { LATCHKEY_CONFIG_DIR: join(tempDir('latchkey-cli-device-'), 'cfg') };
  });
  after(() => server.cleanup());

  it('prints the code, waits for the approval at /device, stores the tokens; whoami shows the person', async () => {
    const app = await createDeviceClient(server);
    const child = spawnCli(['login', '--issuer', server.issuer, '--client-id', app.clientId, '--device'], {
      env,
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    const complete = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('http'));
        if (line) resolve(line.trim());
      });
      child.on('close', () => reject(new Error(`login exited early: ${err}`)));
    });
    const userCode = new URL(complete).searchParams.get('user_code')!;
    assert.match(userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.match(err, new RegExp(`open ${server.issuer}/device on any device`));
    assert.match(err, new RegExp(`^ {4}${userCode}$`, 'm'), 'the user code, on its own line');
    const { final } = await approveInBrowser(new Browser(server.url), {
      user_code: userCode,
      verification_uri_complete: complete,
    });
    assert.equal(final.status, 200);
    assert.equal(await exited, 0, err);
    assert.match(err, new RegExp(`Signed in as ${user.id}`));

    const who = await runCliProcess(['whoami'], { env });
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).sub, user.id);
    const help = await runCliProcess(['login', '--help'], { env });
    assert.match(help.stdout + help.stderr, /--device/);
  });

  it('an application without the device grant: a clear error, no 500', async () => {
    const app = await createClient(server, { type: 'native' });
    const r = await runCliProcess(
      ['login', '--issuer', server.issuer, '--client-id', app.clientId, '--device'],
      {
        env,
      },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unauthorized_client/);
  });
});
