/**
 * `latchkey backup` of a SQLite database while a real `latchkey serve` answers flows from several
 * people at once, then `latchkey restore` of that copy into a new file and a server on it (same
 * port, so the same issuer), as an operator recovering from a lost disk would do.
 *
 * What the copy must hold: everything a client had received before the backup started — access
 * tokens introspect active, held codes redeem, each family's refresh token that was live then
 * still refreshes — and its SQLite integrity is clean. The server kept answering while the copy
 * was made. What came after the backup ended is not in the copy (a point-in-time copy): a refresh
 * token first received after it is unknown there (invalid_grant), never half-present.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { introspect, redeem, refresh } from '../helpers/flow.js';
import { runFlowLoops } from '../helpers/flow-loops.js';
import { seed, startServe } from '../helpers/serve-child.js';
import { freePort, tempDir } from '../helpers/server.js';

const LOOPS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backup under load (SQLite)', () => {
  const dir = tempDir('latchkey-backup-load-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a copy taken while flows run holds everything received before it; restored, it serves', async () => {
    const db = join(dir, 'latchkey.db');
    const seeded = await seed(db, LOOPS);
    const port = await freePort();
    const serve = await startServe(db, port);
    const loops = runFlowLoops(serve.url, seeded);
    let backup: { code: number; stdout: string; stderr: string };
    let started: number;
    let ended: number;
    try {
      await sleep(1500);
      started = Date.now();
      const copy = join(dir, 'backup', 'latchkey-copy.db');
      mkdirSync(join(dir, 'backup'));
      backup = await runCli(['backup', '--db', db, '--to', copy, '--json']);
      ended = Date.now();
      await sleep(500);
    } finally {
      await loops.stop();
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    assert.equal(backup.code, 0, backup.stderr);
    const out = JSON.parse(backup.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['path', 'bytes', 'integrity']);
    assert.equal(out['integrity'], 'ok');
    assert.ok(typeof out['bytes'] === 'number' && out['bytes'] > 0);
    for (const st of loops.states) assert.equal(st.error, undefined, `${st.user}: ${st.error?.message}`);

    // The server kept answering while the copy was made (no pause, no error).
    const answeredDuring = loops.states.flatMap((st) =>
      [...st.accessTokens, ...st.held].filter((r) => r.requestedAt >= started && r.at <= ended),
    ).length;
    const before = loops.states.flatMap((st) => st.accessTokens.filter((t) => t.at < started));
    assert.ok(before.length >= LOOPS, `${before.length} access tokens before the backup`);

    // Restore into a new file and serve it on the same port (the same issuer).
    const restored = join(dir, 'restored', 'latchkey.db');
    mkdirSync(join(dir, 'restored'));
    const r = await runCli(['restore', '--from', String(out['path']), '--db', restored]);
    assert.equal(r.code, 0, r.stderr);
    const again = await startServe(restored, port);
    try {
      for (const t of before) {
        const i = await introspect(again.url, seeded.service, t.value);
        assert.equal(i.json.active, true, 'an access token issued before the backup is active');
      }
      // Codes held (received before the backup, never redeemed) redeem once, within their 60 s.
      const held = loops.states.flatMap((st) => st.held.filter((h) => h.at < started));
      for (const h of held) {
        const res = await redeem(again.url, seeded.app, h.value.code, h.value.verifier);
        assert.equal(res.status, 200, JSON.stringify(res.json));
      }
      // Each family's refresh token that was live when the backup started (received before it,
      // and its rotation, if any, requested only after the backup ended) still refreshes.
      let live = 0;
      let later = 0;
      for (const f of loops.states.flatMap((st) => st.families)) {
        const i = f.history.findLastIndex((h) => h.at < started);
        const next = f.history[i + 1];
        if (i >= 0 && (next === undefined || next.requestedAt > ended)) {
          const res = await refresh(again.url, seeded.app, f.history[i]!.value);
          assert.equal(res.status, 200, JSON.stringify(res.json));
          live++;
        }
        // A refresh token first requested after the backup ended is not in the copy.
        const after = f.history.find((h) => h.requestedAt > ended);
        if (after && later < 5) {
          const res = await refresh(again.url, seeded.app, after.value);
          assert.equal(res.status, 400);
          assert.equal(res.json.error, 'invalid_grant');
          later++;
        }
      }
      assert.ok(live >= 1, 'at least one family was live at the backup');
      console.log(
        `backup under load: ${out['bytes']} bytes in ${ended - started} ms, ${answeredDuring} answers during it; ` +
          `restored: ${before.length} access tokens active, ${held.length} held codes redeemed, ${live} families refreshed, ${later} later tokens unknown`,
      );
    } finally {
      await again.kill();
    }
  });
});
