#!/usr/bin/env node
// Runs every test file under test/ with node:test through tsx. Files are listed explicitly
// (Node 20 does not expand a quoted glob). Exits non-zero when no test ran.
//
//   node test/run.mjs                 everything (npm test: the README's and CI's command)
//   node test/run.mjs --quick         the inner loop (npm run test:quick): only the files that
//                                     need no browser, no extra process and no real-time wait
//   node test/run.mjs cli flow/sign   the files whose path contains one of the words
//   … --list                          prints the files it would run, and runs none
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const list = args.includes('--list');
const only = args.filter((a) => a !== '--quick' && a !== '--list');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

/**
 * Whether a test file needs a browser, another process or an outage: it reaches (through its
 * own imports and those of the helpers it uses) node:child_process, playwright-core or the TCP
 * proxy that cuts the database away. Decided from the code, so a new slow test cannot slip into
 * the quick set by forgetting a label. A test that waits in real time is marked (SLOW_MARK).
 */
const SLOW_IMPORT = /from '(node:child_process|playwright-core)'|helpers\/tcp-proxy\.js'/;
/** A file that waits in real time says so in its doc comment: ` * @slow: the reason`. */
const SLOW_MARK = /^ \* @slow: /m;
const slowCache = new Map();
function isSlow(file, seen = new Set()) {
  if (slowCache.has(file)) return slowCache.get(file);
  if (seen.has(file)) return false;
  seen.add(file);
  const text = readFileSync(join(root, file), 'utf8');
  let slow = SLOW_IMPORT.test(text) || SLOW_MARK.test(text);
  for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
    if (slow) break;
    const dep = relative(root, join(root, file, '..', `${m[1]}.ts`));
    if (dep.startsWith('test/') && existsSync(join(root, dep))) slow = isSlow(dep, seen);
  }
  slowCache.set(file, slow);
  return slow;
}

let files = walk(join(root, 'test'));
if (only.length > 0) files = files.filter((f) => only.some((o) => f.includes(o)));
if (quick) files = files.filter((f) => !isSlow(f));
if (files.length === 0) {
  console.error('test/run.mjs: no test files found');
  process.exit(1);
}
if (list) {
  console.log(files.join('\n'));
  process.exit(0);
}
if (!process.env.LATCHKEY_TEST_POSTGRES) {
  console.log(
    'NOTE: PostgreSQL was NOT tested. Set LATCHKEY_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test to run the PostgreSQL suites too.',
  );
}
// The real-browser tests drive Debian's chromium; without it they fail, and this says why at once.
const chromiumMissing = !existsSync('/usr/bin/chromium');
const CHROMIUM_LINE =
  'NOTE: /usr/bin/chromium is missing, so the browser tests will FAIL: install it with `apt-get install -y chromium`.';
if (chromiumMissing) console.log(CHROMIUM_LINE);
// The CLI tests run the built command (dist/), as `npx latchkey` would.
const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('test/run.mjs: the build failed');
  process.exit(1);
}
// Human-readable output on stdout, TAP to a file for the closing count.
const tapFile = join(mkdtempSync(join(tmpdir(), 'latchkey-tap-')), 'results.tap');
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    // Two files at a time: this machine has two cores, and the tests that wait in real time
    // (outages, key rotation, crashes) keep their timing only when not starved of a core (four
    // at a time made test:quick only 6 % faster).
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
const count = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
const [tests, pass, fail, cancelled] = ['tests', 'pass', 'fail', 'cancelled'].map(count);
// Skipped tests and skipped suites (a PostgreSQL suite without LATCHKEY_TEST_POSTGRES skips as a
// whole, which node:test's own count leaves out).
const skipped = (tap.match(/^\s*ok \d+ - .*# SKIP/gm) ?? []).length;
console.log(`\n${files.length} test files, ${tests} tests`);
// A test cancelled because its suite's hook failed did not pass: it counts as failed.
console.log(`${pass} passed, ${fail + cancelled} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (!process.env.LATCHKEY_TEST_POSTGRES)
  console.log('NOTE: PostgreSQL was NOT tested (its suites are the skipped ones).');
if (chromiumMissing) console.log(CHROMIUM_LINE);
if (tests === 0) {
  console.error('test/run.mjs: no test ran');
  process.exit(1);
}
process.exit(r.status ?? 1);
