/**
 * The WAL checkpoint of a serving SQLite file runs on its own thread (storage/sqlite-checkpointer.ts):
 * commits never checkpoint, the WAL stays bounded, closing leaves no -wal file, and a thread that
 * fails gives the connection SQLite's automatic checkpoint back.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { databaseForTests, openStorage, type Storage } from '../../src/storage/index.js';
import { SQLITE_DEFAULT_AUTOCHECKPOINT } from '../../src/storage/sqlite-checkpointer.js';
import { startTestServer, tempDir } from '../helpers/server.js';

const autocheckpoint = async (s: Storage): Promise<number> => {
  const r = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(databaseForTests(s));
  return r.rows[0]?.wal_autocheckpoint ?? -1;
};

/** Writes about `mib` MiB in one transaction (4 KiB rows). */
async function write(s: Storage, mib: number): Promise<void> {
  const db = databaseForTests(s);
  await sql`create table if not exists filler (b blob)`.execute(db);
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < mib * 256; i++) await sql`insert into filler values (randomblob(4096))`.execute(trx);
  });
}

/** The next checkpoint that copied every frame of a WAL of at least `frames` frames. */
async function fullCheckpoint(s: Storage, frames: number) {
  for (;;) {
    const r = await s.checkpointer?.next();
    assert.ok(r, 'a checkpoint thread runs');
    if (r.busy === 0 && r.log >= frames && r.checkpointed === r.log) return r;
  }
}

test('commits do not checkpoint; the thread does, and the WAL is truncated to its bound', async () => {
  const path = join(tempDir('latchkey-checkpoint-'), 'latchkey.db');
  const limit = 2 ** 20;
  const s = await openStorage(path, { backgroundCheckpoint: { intervalMs: 20, walSizeLimitBytes: limit } });
  try {
    assert.equal(await autocheckpoint(s), 0, 'no checkpoint inside a commit');
    await write(s, 8);
    const wal = statSync(`${path}-wal`).size;
    assert.ok(wal > 6 * 2 ** 20, `the WAL holds the 8 MiB written (${wal} bytes): no commit checkpointed it`);
    // 8 MiB of 4 KiB pages: at least 2,000 frames, all copied back by the thread.
    await fullCheckpoint(s, 2000);
    // The next writer starts the WAL over; journal_size_limit cuts the file back to the bound.
    await write(s, 1 / 256);
    assert.ok(statSync(`${path}-wal`).size <= limit, 'the WAL file is back within its bound');
  } finally {
    await s.close();
  }
  assert.equal(existsSync(`${path}-wal`), false, 'closing leaves no -wal file');
  const again = await openStorage(path);
  try {
    const n = await sql<{ n: number }>`select count(*) as n from filler`.execute(databaseForTests(again));
    assert.equal(n.rows[0]?.n, 8 * 256 + 1, 'every row written is in the file');
  } finally {
    await again.close();
  }
});

test('a checkpoint thread that fails gives the connection the automatic checkpoint back', async () => {
  const path = join(tempDir('latchkey-checkpoint-'), 'latchkey.db');
  let failure: Error | undefined;
  let noteFailure = () => {};
  const failed = new Promise<void>((resolve) => {
    noteFailure = resolve;
  });
  const s = await openStorage(path, {
    backgroundCheckpoint: {
      driver: join(tempDir('latchkey-checkpoint-'), 'no-such-driver.js'),
      onFailure: (err) => {
        failure = err;
        noteFailure();
      },
    },
  });
  try {
    await failed;
    assert.equal(await autocheckpoint(s), SQLITE_DEFAULT_AUTOCHECKPOINT);
    await write(s, 0.1);
  } finally {
    await s.close();
  }
  assert.match(String(failure?.message), /no-such-driver|Cannot find module/);
});

test('a server on a SQLite file checkpoints on the thread; short commands keep SQLite’s default', async () => {
  const server = await startTestServer();
  const path = server.dbPath;
  try {
    assert.ok(server.ctx.storage.checkpointer, 'the serving storage has a checkpoint thread');
    assert.equal(await autocheckpoint(server.ctx.storage), 0);
  } finally {
    await server.stop();
  }
  const cli = await openStorage(path);
  try {
    assert.equal(cli.checkpointer, undefined);
    assert.equal(await autocheckpoint(cli), SQLITE_DEFAULT_AUTOCHECKPOINT);
  } finally {
    await cli.close();
    await server.cleanup();
  }
});
