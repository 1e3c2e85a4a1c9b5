/**
 * `latchkey users factors list|remove|require-enrolment`, `latchkey users logout` and
 * `latchkey clients create|update --mfa` as scripts use them: JSON shapes, exit codes, one-line
 * errors, the audit log; and against a server on the same database, that logout ends the
 * sessions and kills the refresh tokens while the person can still sign in.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStorage } from '../../src/storage/index.js';
import type { User } from '../../src/storage/types.js';
import { Browser } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { runCliProcess } from '../helpers/cli-process.js';
import { authorizePath, discover, getCode, obtainTokens, pkce, refresh } from '../helpers/flow.js';
import { PASSWORD, startTestServer, tempDir } from '../helpers/server.js';
import { addFactors, type MadeFactors } from './factors-fixture.js';

const T0 = Date.parse('2026-12-01T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('latchkey users factors, users logout, clients --mfa', () => {
  let dir: string;
  let db: string;
  let made: MadeFactors;
  let alice: User;
  const run = (args: string[], stdin = '') => runCli([...args, '--db', db], { stdin });

  before(async () => {
    dir = tempDir('latchkey-factors-cli-');
    db = join(dir, 'factors.db');
    for (const username of ['alice', 'bob', 'carol']) {
      const r = await run(['users', 'create', '--username', username, '--password-stdin'], `${PASSWORD}\n`);
      assert.equal(r.code, 0, r.stderr);
    }
    const storage = await openStorage(db);
    try {
      alice = (await storage.users.getByUsername('alice'))!;
      made = await addFactors(storage.factors, alice.id, T0);
    } finally {
      await storage.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('users factors list --json (the built command): the documented array, exactly', async () => {
    const r = await runCliProcess(['users', 'factors', 'list', 'alice', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      {
        id: made.passkeyId,
        type: 'passkey',
        name: 'MacBook Touch ID',
        created_at: iso(T0),
        last_used_at: null,
      },
      {
        id: made.totpId,
        type: 'totp',
        name: 'Authenticator app',
        created_at: iso(T0 + 1000),
        last_used_at: iso(T0 + 60_000),
      },
      {
        id: made.recoveryId,
        type: 'recovery_codes',
        name: 'Recovery codes (7 of 10 left)',
        created_at: iso(T0 + 3000),
        last_used_at: iso(T0 + 60_000),
      },
    ]);
    // Someone without factors: an empty array.
    const none = await runCliProcess(['users', 'factors', 'list', 'bob', '--json', '--db', db]);
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout), []);
  });

  it('users factors list without --json: one line per factor; no factors says so', async () => {
    const r = await run(['users', 'factors', 'list', 'alice']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(
      lines[0]!,
      new RegExp(`^${made.passkeyId} {2}passkey .* MacBook Touch ID .*last used never`),
    );
    assert.match(lines[2]!, /recovery_codes {2}Recovery codes \(7 of 10 left\)/);
    const bob = await run(['users', 'factors', 'list', 'bob']);
    assert.match(bob.stdout, /bob has no factors besides the password/);
  });

  it('unknown users, unknown factor ids and missing arguments: one line, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['users', 'factors', 'list', 'nobody'], /^latchkey: no user named nobody\n$/],
      [
        ['users', 'factors', 'remove', 'nobody', '--id', made.passkeyId],
        /^latchkey: no user named nobody\n$/,
      ],
      [
        ['users', 'factors', 'remove', 'alice', '--id', 'no-such-factor'],
        /^latchkey: alice has no factor with id no-such-factor\n$/,
      ],
      // Another person's factor is not this person's.
      [['users', 'factors', 'remove', 'bob', '--id', made.passkeyId], /^latchkey: bob has no factor with id/],
      // A pending TOTP factor is not listed, so it cannot be removed either.
      [['users', 'factors', 'remove', 'alice', '--id', made.pendingTotpId], /has no factor with id/],
      [['users', 'factors', 'remove', 'alice'], /usage: latchkey users factors remove USERNAME --id ID/],
      [['users', 'factors', 'list'], /usage: latchkey users factors list USERNAME/],
      [['users', 'factors', 'require-enrolment', 'nobody'], /^latchkey: no user named nobody\n$/],
      [['users', 'logout', 'nobody'], /^latchkey: no user named nobody\n$/],
      [['users', 'logout'], /usage: latchkey users logout USERNAME/],
      [
        ['users', 'factors', 'forget', 'alice'],
        /unknown users factors sub-command "forget": the sub-commands are list, remove, require-enrolment/,
      ],
      [['users', 'factors'], /usage: latchkey users factors list\|remove\|require-enrolment/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.equal(r.stdout, '');
    }
    // Nothing was removed by any of them.
    const list = JSON.parse((await run(['users', 'factors', 'list', 'alice', '--json'])).stdout) as unknown[];
    assert.equal(list.length, 3);
  });

  it('--help: the factors group, each of its sub-commands, and users logout', async () => {
    const group = await runCli(['users', 'factors', '--help']);
    assert.equal(group.code, 0);
    for (const sub of ['list', 'remove', 'require-enrolment'])
      assert.match(group.stdout, new RegExp(`latchkey users factors ${sub} USERNAME`));
    const remove = await runCli(['users', 'factors', 'remove', '--help']);
    assert.equal(remove.code, 0);
    assert.match(remove.stdout, /^latchkey users factors remove USERNAME --id ID/);
    assert.match(remove.stdout, /--id ID {2,}the factor's id/);
    assert.doesNotMatch(remove.stdout, /latchkey users factors list/);
    const users = await runCli(['users', '--help']);
    assert.match(users.stdout, /latchkey users logout USERNAME/);
    assert.match(users.stdout, /latchkey users factors require-enrolment USERNAME/);
    const logout = await runCli(['users', 'logout', '--help']);
    assert.match(logout.stdout, /^latchkey users logout USERNAME/);
    assert.match(logout.stdout, /without disabling the account/);
    const create = await runCli(['clients', 'create', '--help']);
    assert.match(create.stdout, /--mfa none\|optional\|required\|inherit/);
    const update = await runCli(['clients', 'update', '--help']);
    assert.match(update.stdout, /--mfa none\|optional\|required\|inherit/);
    assert.match(update.stdout, /inherit = the server's LATCHKEY_MFA/);
  });

  it('users factors remove --id removes each type (recovery codes as one set), audited', async () => {
    const pk = await run(['users', 'factors', 'remove', 'alice', '--id', made.passkeyId, '--json']);
    assert.equal(pk.code, 0, pk.stderr);
    assert.deepEqual(JSON.parse(pk.stdout), {
      id: made.passkeyId,
      type: 'passkey',
      name: 'MacBook Touch ID',
      created_at: iso(T0),
      last_used_at: null,
      removed: true,
    });
    const totp = await run(['users', 'factors', 'remove', 'alice', '--id', made.totpId]);
    assert.equal(totp.code, 0, totp.stderr);
    assert.equal(totp.stdout, `Removed totp factor "Authenticator app" (id ${made.totpId}) of alice\n`);
    const codes = await run(['users', 'factors', 'remove', 'alice', '--id', made.recoveryId, '--json']);
    assert.equal(codes.code, 0, codes.stderr);
    assert.equal(JSON.parse(codes.stdout).type, 'recovery_codes');
    assert.deepEqual(JSON.parse((await run(['users', 'factors', 'list', 'alice', '--json'])).stdout), []);
    // Removed twice: the second time it is not there.
    const again = await run(['users', 'factors', 'remove', 'alice', '--id', made.totpId]);
    assert.equal(again.code, 2);

    const storage = await openStorage(db);
    try {
      const summary = await storage.factors.summary(alice.id);
      assert.deepEqual(summary, { passkeys: 0, totp: false, recoveryCodesLeft: 0 });
      // The pending TOTP factor is left for the next enrolment to replace.
      assert.deepEqual(
        (await storage.factors.totpOf(alice.id)).map((t) => t.id),
        [made.pendingTotpId],
      );
      const events = await storage.audit.list({ type: 'user_factor_removed', userId: alice.id });
      assert.deepEqual(
        events.map((e) => [e.detail?.['type'], e.detail?.['id'], e.detail?.['via']]).reverse(),
        [
          ['passkey', made.passkeyId, 'cli'],
          ['totp', made.totpId, 'cli'],
          ['recovery_codes', made.recoveryId, 'cli'],
        ],
      );
    } finally {
      await storage.close();
    }
  });

  it('users factors require-enrolment sets the flag (users list --json shows it), audited', async () => {
    const before = JSON.parse((await run(['users', 'list', '--json'])).stdout) as Record<string, unknown>[];
    assert.equal(before.find((u) => u['username'] === 'bob')?.['mfa_enrolment_required'], false);
    const r = await run(['users', 'factors', 'require-enrolment', 'bob', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const bob = JSON.parse(r.stdout);
    assert.equal(bob.username, 'bob');
    assert.equal(bob.mfa_enrolment_required, true);
    const human = await run(['users', 'factors', 'require-enrolment', 'bob']);
    assert.match(human.stdout, /^bob must use a second factor at their next sign-in/);
    const after = JSON.parse((await run(['users', 'list', '--json'])).stdout) as Record<string, unknown>[];
    assert.equal(after.find((u) => u['username'] === 'bob')?.['mfa_enrolment_required'], true);
    const audit = JSON.parse(
      (await run(['audit', 'list', '--type', 'user_mfa_enrolment_required', '--user', 'bob', '--json']))
        .stdout,
    ) as { detail: { via: string } }[];
    assert.equal(audit.length, 2);
    assert.ok(audit.every((e) => e.detail.via === 'cli'));
  });

  it('clients create|update --mfa none|optional|required|inherit round-trip (null = inherited)', async () => {
    const create = (extra: string[]) =>
      run([
        'clients',
        'create',
        '--name',
        'MFA app',
        '--type',
        'native',
        '--redirect-uri',
        'http://127.0.0.1/cb',
        '--json',
        ...extra,
      ]);
    const plain = await create([]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout).mfa, null, 'absent: inherited, null');
    const inherit = await create(['--mfa', 'inherit']);
    assert.equal(JSON.parse(inherit.stdout).mfa, null);
    const required = await create(['--mfa', 'required']);
    assert.equal(required.code, 0, required.stderr);
    const id = String(JSON.parse(required.stdout).client_id);
    assert.equal(JSON.parse(required.stdout).mfa, 'required');
    const human = await run([
      'clients',
      'create',
      '--name',
      'Human',
      '--type',
      'spa',
      '--redirect-uri',
      'https://spa.example.com/cb',
    ]);
    assert.match(human.stdout, /\n {2}mfa: inherit \(server default, LATCHKEY_MFA: optional\)/);

    const update = async (value: string) => {
      const r = await run(['clients', 'update', id, '--mfa', value, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).mfa as unknown;
    };
    assert.equal(await update('optional'), 'optional');
    assert.equal(await update('none'), 'none');
    assert.equal(await update('inherit'), null);
    assert.equal(await update('required'), 'required');
    // Other changes keep it.
    const renamed = await run(['clients', 'update', id, '--name', 'Renamed', '--json']);
    assert.equal(JSON.parse(renamed.stdout).mfa, 'required');
    const listed = JSON.parse((await run(['clients', 'list', '--json'])).stdout) as Record<string, unknown>[];
    assert.equal(listed.find((c) => c['client_id'] === id)?.['mfa'], 'required');
    const text = await run(['clients', 'update', id, '--mfa', 'inherit']);
    assert.match(text.stdout, /\n {2}mfa: inherit \(server default, LATCHKEY_MFA: optional\)\n$/);
    const events = JSON.parse(
      (await run(['audit', 'list', '--type', 'client_updated', '--client', id, '--json'])).stdout,
    ) as { detail: { fields: string[] } }[];
    assert.ok(events.some((e) => e.detail.fields.includes('mfa')));

    const bad = await run(['clients', 'update', id, '--mfa', 'always']);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      "latchkey: MFA must be none, optional, required or inherit (the server's LATCHKEY_MFA)\n",
    );
    const badCreate = await create(['--mfa', '']);
    assert.equal(badCreate.code, 2);
    assert.match(badCreate.stderr, /MFA must be none, optional, required or inherit/);
    const service = await run([
      'clients',
      'create',
      '--name',
      'Batch',
      '--type',
      'service',
      '--mfa',
      'required',
    ]);
    assert.equal(service.code, 1);
    assert.equal(
      service.stderr,
      'latchkey: MFA is for applications people sign in to, not service applications\n',
    );
  });

  it('users logout against a running server: sessions end, refresh tokens die, sign-in still works', async () => {
    const server = await startTestServer({ dbPath: db });
    try {
      const as = await discover(server);
      const { client } = await server.ctx.clients.create({
        name: 'Logout app',
        type: 'native',
        redirectUris: ['http://127.0.0.1/callback'],
      });
      const app = { clientId: client.clientId, redirectUri: 'http://127.0.0.1/callback' };
      const { tokens, browser } = await obtainTokens(server, as, app, { username: 'carol' });
      assert.ok(tokens.refresh_token);
      // The browser's session answers /authorize with a code at once, before the logout.
      const before = await browser.get(authorizePath(app, pkce()));
      assert.equal(before.status, 303);
      assert.ok(before.location?.startsWith(app.redirectUri), String(before.location));
      const userinfo = () =>
        fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal((await userinfo()).status, 200);

      const r = await run(['users', 'logout', 'carol', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.username, 'carol');
      assert.equal(out.disabled, false);
      assert.equal(out.sessions_ended, 1);
      // The tokens' grant and the one of the code the session got just before.
      assert.equal(out.grants_revoked, 2);

      // The refresh token and the access token stop working.
      const refreshed = await refresh(server, app, tokens.refresh_token);
      assert.equal(refreshed.status, 400);
      assert.equal(refreshed.json['error'], 'invalid_grant');
      assert.equal((await userinfo()).status, 401);
      // The browser's session is over: /authorize asks to sign in again.
      const after = await browser.get(authorizePath(app, pkce()));
      assert.equal(after.status, 303);
      assert.match(String(after.location), /^\/interaction\//);
      // The account stays enabled: the person signs in again, in the same browser or another.
      const again = await getCode(server, app, pkce(), {}, { browser, username: 'carol' });
      assert.ok(again.code);
      await getCode(server, app, pkce(), {}, { browser: new Browser(server.url), username: 'carol' });

      const human = await run(['users', 'logout', 'carol']);
      // Two sign-ins, each with a code (and so a grant) issued.
      assert.equal(human.stdout, 'Signed carol out everywhere: 2 session(s) ended, 2 grant(s) revoked\n');
      const audit = JSON.parse(
        (await run(['audit', 'list', '--type', 'user_logged_out', '--user', 'carol', '--json'])).stdout,
      ) as { detail: Record<string, unknown> }[];
      assert.deepEqual(audit.at(-1)?.detail, { via: 'cli', sessions: 1, grants: 2 });
    } finally {
      await server.cleanup();
    }
  });
});
