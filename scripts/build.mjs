#!/usr/bin/env node
// npm run build: a fresh dist/ (no file left from a module that moved or was deleted), compiled
// by tsc, with the bin executable as npm makes it when it links one (so ./dist/cli/latchkey.js
// and `npm exec latchkey` in this checkout run too).
//
// tsc writes into dist.next/, which then replaces dist/ in one rename: a build that runs while
// the built command is in use (npm runs `prepare` when `npx latchkey` is run in this checkout)
// never leaves dist/ missing or half-written, and a failed build leaves the previous one intact.
import { spawnSync } from 'node:child_process';
import { chmodSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const next = `${root}dist.next`;
const old = `${root}dist.old`;
rmSync(next, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`, '--outDir', next], {
  stdio: 'inherit',
});
if (r.status !== 0) {
  rmSync(next, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}
chmodSync(`${next}/cli/latchkey.js`, 0o755);
// Two renames (a directory cannot replace a non-empty one): dist/ is absent only between them.
rmSync(old, { recursive: true, force: true });
try {
  renameSync(`${root}dist`, old);
} catch (e) {
  if (e.code !== 'ENOENT') throw e;
}
renameSync(next, `${root}dist`);
rmSync(old, { recursive: true, force: true });
