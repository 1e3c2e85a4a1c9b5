/**
 * The CLI's command table: `latchkey <command> <sub-command> --help` prints that sub-command's
 * usage only, an unknown sub-command is a usage error naming the real ones, time flags take
 * durations, and `audit list --since` keeps the events of the last while.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditCommand } from '../../src/cli/audit.js';
import { clientsCommand } from '../../src/cli/clients.js';
import { type CommandGroup, runGroup } from '../../src/cli/command-table.js';
import type { Io } from '../../src/cli/io.js';
import { keysCommand } from '../../src/cli/keys.js';
import { registrationTokensCommand } from '../../src/cli/registration-tokens.js';
import { GROUPS } from '../../src/cli/usage.js';
import { userFactorsCommand, usersCommand } from '../../src/cli/users.js';
import { openStorage } from '../../src/storage/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const groups: CommandGroup[] = [
  clientsCommand,
  usersCommand,
  userFactorsCommand,
  keysCommand,
  auditCommand,
  registrationTokensCommand,
];

async function helpOf(group: CommandGroup, argv: string[]): Promise<string> {
  let out = '';
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: () => {},
    stdin: async () => '',
    env: {},
  };
  await runGroup(group, argv, io);
  return out;
}

describe('latchkey command table', () => {
  let dir: string;
  let db: string;
  before(() => {
    dir = tempDir('latchkey-commands-');
    db = join(dir, 'cli.db');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every sub-command has a run function and its own --help, naming only itself', async () => {
    for (const group of groups) {
      const names = Object.keys(GROUPS[group.name as keyof typeof GROUPS].subcommands);
      assert.deepEqual(Object.keys(group.subcommands), names, group.name);
      for (const sub of names) {
        assert.equal(typeof group.subcommands[sub]!.run, 'function', `${group.name} ${sub}`);
        const text = await helpOf(group, [sub, '--help']);
        assert.match(text, new RegExp(`^latchkey ${group.name} ${sub}\\b`), `${group.name} ${sub}`);
        for (const other of names.filter((n) => n !== sub))
          assert.doesNotMatch(
            text,
            new RegExp(`latchkey ${group.name} ${other}\\b`),
            `${sub} help names ${other}`,
          );
      }
      // The group's own --help lists every sub-command.
      const all = await helpOf(group, ['--help']);
      for (const sub of names) assert.match(all, new RegExp(`latchkey ${group.name} ${sub}\\b`));
    }
  });

  it('a nested group answers --help per sub-command through its parent: users factors remove --help', async () => {
    const sub = await helpOf(usersCommand, ['factors', 'remove', '--help']);
    assert.equal(sub, `${userFactorsCommand.subcommands['remove']!.usage}\n`);
    assert.match(sub, /^latchkey users factors remove USERNAME --id ID/);
    const group = await helpOf(usersCommand, ['factors', '--help']);
    assert.equal(group, `${userFactorsCommand.usage}\n`);
    assert.equal(usersCommand.subcommands['factors']!.group, userFactorsCommand);
  });

  it('latchkey clients update --help, and an unknown sub-command is exit 2 naming the real ones', async () => {
    const help = await runCli(['clients', 'update', '--help', '--db', join(dir, 'never.db')]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^latchkey clients update/);
    assert.match(help.stdout, /--access-token-ttl S/);
    assert.doesNotMatch(help.stdout, /latchkey clients create/);
    const unknown = await runCli(['users', 'remove', 'bob']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^latchkey: unknown users sub-command "remove": the sub-commands are create, list/,
    );
    const missing = await runCli(['keys']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /usage: latchkey keys list\|rotate\|encrypt/);
  });

  it('time flags take seconds or durations; out of range is a usage error with the bounds', async () => {
    const c = await runCli([
      'clients',
      'create',
      '--name',
      'Durations',
      '--type',
      'native',
      '--redirect-uri',
      'http://127.0.0.1/cb',
      '--refresh-grace',
      '10s',
      '--db',
      db,
      '--json',
    ]);
    assert.equal(c.code, 0, c.stderr);
    const id = String(JSON.parse(c.stdout).client_id);
    assert.equal(JSON.parse(c.stdout).refresh_grace, 10);
    const u = await runCli([
      'clients',
      'update',
      id,
      '--access-token-ttl',
      '15m',
      '--refresh-token-ttl',
      '30d',
      '--refresh-idle-ttl',
      '86400',
      '--refresh-grace',
      '1m',
      '--db',
      db,
      '--json',
    ]);
    assert.equal(u.code, 0, u.stderr);
    const json = JSON.parse(u.stdout);
    assert.equal(json.access_token_ttl, 900);
    assert.equal(json.refresh_token_ttl, 30 * 86400);
    assert.equal(json.refresh_idle_ttl, 86400);
    assert.equal(json.refresh_grace, 60);
    const bad = await runCli(['clients', 'update', id, '--access-token-ttl', '5', '--db', db]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^latchkey: access token TTL must be a time from 1m to 1d/);
    const words = await runCli(['clients', 'update', id, '--refresh-grace', 'soon', '--db', db]);
    assert.equal(words.code, 2);
    assert.match(words.stderr, /refresh grace must be a time from 0s to 1m \(0 = off\)/);
  });

  it('audit list --since keeps the events of the last while, newest first', async () => {
    const storage = await openStorage(db);
    const now = Date.now();
    try {
      for (const [id, agoMs] of [
        ['old', 3 * 3600_000],
        ['recent', 10 * 60_000],
      ] as const) {
        await storage.audit.record({
          id: `since-${id}`,
          at: now - agoMs,
          type: 'login_failure',
          userId: null,
          clientId: null,
          ip: '127.0.0.1',
          detail: { reason: id },
        });
      }
    } finally {
      await storage.close();
    }
    const list = async (since: string) => {
      const r = await runCli([
        'audit',
        'list',
        '--type',
        'login_failure',
        '--since',
        since,
        '--db',
        db,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { detail: { reason: string } }[]).map((e) => e.detail.reason);
    };
    assert.deepEqual(await list('1h'), ['recent']);
    assert.deepEqual(await list('4h'), ['recent', 'old']);
    assert.deepEqual(await list('60'), []);
    const bad = await runCli(['audit', 'list', '--since', 'yesterday', '--db', db]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^latchkey: --since must be/);
  });
});
