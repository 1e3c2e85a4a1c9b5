/**
 * `latchkey purge [--json]` and `latchkey audit export`: what expired goes, the counts and the
 * time are printed as documented, LATCHKEY_AUDIT_RETENTION decides the audit log's age, and the
 * export streams every event in [from, to) oldest first, one JSON line each.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStorage } from '../../src/storage/index.js';
import type { AuditEvent } from '../../src/storage/types.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const DAY = 86400_000;

async function withStorage(db: string, fn: (s: Awaited<ReturnType<typeof openStorage>>) => Promise<void>) {
  const s = await openStorage(db);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

const event = (id: string, at: number, type = 'login_success'): AuditEvent => ({
  id,
  at,
  type,
  clientId: null,
  userId: null,
  ip: '192.0.2.1',
  detail: { n: id },
});

describe('latchkey purge and audit export', () => {
  let dir: string;
  let db: string;
  before(() => {
    dir = tempDir('latchkey-purge-cli-');
    db = join(dir, 'purge.db');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('purge --json deletes what expired, prints { deleted, ms }; a second run deletes nothing', async () => {
    const now = Date.now();
    await withStorage(db, async (s) => {
      const session = (idHash: string, expiresAt: number, endedAt: number | null) => ({
        idHash,
        userId: 'u1',
        authTime: now - DAY,
        createdAt: now - DAY,
        lastSeenAt: now - DAY,
        expiresAt,
        endedAt,
      });
      await s.sessions.create(session('expired', now - 1000, null));
      await s.sessions.create(session('ended', now + DAY, now - 1000));
      await s.sessions.create(session('live', now + DAY, null));
      await s.audit.record(event('old', now - 91 * DAY));
      await s.audit.record(event('recent', now - DAY));
    });
    const r = await runCli(['purge', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { deleted: Record<string, number>; ms: number };
    assert.deepEqual(Object.keys(out), ['deleted', 'ms']);
    assert.equal(out.deleted['sessions'], 2);
    assert.equal(out.deleted['audit_events'], 1, 'older than the default 90 days');
    assert.ok(Number.isInteger(out.ms) && out.ms >= 0);
    for (const table of [
      'codes',
      'refresh_tokens',
      'grants',
      'sessions',
      'interactions',
      'access_tokens',
      'login_failures',
      'audit_events',
    ])
      assert.equal(typeof out.deleted[table], 'number', table);
    await withStorage(db, async (s) => {
      assert.ok(await s.sessions.get('live'));
      assert.equal(await s.sessions.get('ended'), undefined);
      assert.deepEqual(
        (await s.audit.list({ type: 'login_success' })).map((e) => e.id),
        ['recent'],
      );
    });
    const again = await runCli(['purge', '--db', db]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Nothing had expired \(\d+ ms\)\.\n$/);
  });

  it('LATCHKEY_AUDIT_RETENTION decides: 0 keeps every event, 30d deletes older ones', async () => {
    const now = Date.now();
    await withStorage(db, async (s) => {
      await s.audit.record(event('ancient', now - 400 * DAY, 'consent_granted'));
      await s.audit.record(event('month-old', now - 40 * DAY, 'consent_granted'));
    });
    const keep = await runCli(['purge', '--json', '--db', db], { env: { LATCHKEY_AUDIT_RETENTION: '0' } });
    assert.equal(JSON.parse(keep.stdout).deleted.audit_events, 0);
    const month = await runCli(['purge', '--db', db], { env: { LATCHKEY_AUDIT_RETENTION: '30d' } });
    assert.match(month.stdout, /^Purged 2 expired rows in \d+ ms: audit_events 2\n$/);
    const bad = await runCli(['purge', '--db', db], { env: { LATCHKEY_AUDIT_RETENTION: 'forever' } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^latchkey: LATCHKEY_AUDIT_RETENTION must be a time/);
  });

  it('audit export streams every event of the range as JSON lines, oldest first, in pages', async () => {
    const exportDb = join(dir, 'export.db');
    const start = Date.parse('2026-11-01T00:00:00Z');
    const count = 2500; // more than two pages of 1000
    await withStorage(exportDb, async (s) => {
      for (let n = 0; n < count; n++) {
        // Two events per millisecond: the cursor must neither skip nor repeat one.
        await s.audit.record(event(`e${String(n).padStart(5, '0')}`, start + Math.floor(n / 2)));
      }
      await s.audit.record(event('before', start - 1));
    });
    const all = await runCli(['audit', 'export', '--from', '2026-11-01', '--db', exportDb]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split('\n');
    assert.equal(lines.length, count);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    // The fields of audit list --json.
    assert.deepEqual(Object.keys(first), ['at', 'type', 'client_id', 'user_id', 'ip', 'detail']);
    assert.equal(first['at'], '2026-11-01T00:00:00.000Z');
    const ids = lines.map((l) => (JSON.parse(l) as { detail: { n: string } }).detail.n);
    assert.deepEqual(
      ids,
      Array.from({ length: count }, (_, n) => `e${String(n).padStart(5, '0')}`),
    );
    // --to is exclusive: the first second holds events 0 … 1999 (two per ms).
    const window = await runCli([
      'audit',
      'export',
      '--from',
      '2026-11-01T00:00:00Z',
      '--to',
      '2026-11-01T00:00:01Z',
      '--db',
      exportDb,
    ]);
    assert.equal(window.stdout.trimEnd().split('\n').length, 2000);
    // --since counts back from now: these events are weeks old.
    const recent = await runCli(['audit', 'export', '--since', '1h', '--db', exportDb]);
    assert.equal(recent.code, 0, recent.stderr);
    assert.equal(recent.stdout, '');
  });

  it('audit export refuses unclear ranges: exit 2 with one line', async () => {
    for (const [args, message] of [
      [[], /needs --since S or --from ISO/],
      [['--since', '1h', '--from', '2026-11-01'], /needs --since S or --from ISO/],
      [['--since', 'a while'], /--since must be/],
      [['--from', 'yesterday'], /--from must be an ISO 8601 date/],
      // A time without its offset would be read in the host's zone.
      [['--from', '2026-11-01T08:00'], /--from must be an ISO 8601 date, or a time with its offset/],
      [['--from', '2026-11-02', '--to', '2026-11-01'], /--to must be after --from/],
      [['--since', '1h', '--to', '2026-11-01'], /--to goes with --from/],
    ] as const) {
      const r = await runCli(['audit', 'export', ...args, '--db', db]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    }
  });
});
