#!/usr/bin/env node
// npm run build: a fresh dist/ (no file left from a module that moved or was deleted), compiled
// by tsc, with the bin executable as npm makes it when it links one (so ./dist/cli/latchkey.js
// and `npm exec latchkey` in this checkout run too).
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
rmSync(`${root}dist`, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
chmodSync(`${root}dist/cli/latchkey.js`, 0o755);
