/**
 * The shell blocks of README.md and docs/*.md, run in order in one temporary folder (its ./data is
 * the default database), with `latchkey` and `npx latchkey` resolving to this build through a bin
 * link in node_modules/.bin, as in a project that installed Latchkey. A block that cannot run here
 * is marked on the line before its fence: `<!-- not run: the reason -->`. So a command the
 * documentation shows cannot break silently.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLEAN_ENV, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

interface Block {
  file: string;
  line: number;
  script: string;
  skip: string | undefined;
}

/** Fenced sh/bash blocks, with the `not run` reason of the comment just before a fence. */
export function shellBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)/.exec(lines[i]!);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    if (['sh', 'bash', 'shell'].includes(open[1]!)) {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      const skip = prev >= 0 ? /^<!--\s*not run:\s*(.+?)\s*-->$/.exec(lines[prev]!.trim())?.[1] : undefined;
      blocks.push({ file, line: i + 1, script: lines.slice(i + 1, end).join('\n'), skip });
    }
    i = end;
  }
  return blocks;
}

const docs = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const blocks = docs.flatMap((f) => shellBlocks(f, readFileSync(join(ROOT, f), 'utf8')));

function bash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

describe('the documentation’s shell commands', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    dir = tempDir('latchkey-docs-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'docs-run', private: true }));
    mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
    // As npm links a bin: a symlink, and the target made executable (tsc writes it 0644; a
    // clean clone has no executable bit on it, which is how CI met "Permission denied").
    const bin = join(ROOT, 'dist/cli/latchkey.js');
    chmodSync(bin, 0o755);
    symlinkSync(bin, join(dir, 'node_modules/.bin/latchkey'));
    const { LATCHKEY_DATABASE: _db, ...rest } = CLEAN_ENV;
    env = {
      ...rest,
      PATH: `${join(dir, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`,
      LATCHKEY_LOG_LEVEL: 'silent',
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the blocks, and every skipped one says why', () => {
    assert.ok(blocks.length >= 5, `${blocks.length} blocks`);
    assert.ok(blocks.filter((b) => !b.skip).length >= 3, 'most blocks run');
    assert.deepEqual(
      shellBlocks(
        'x.md',
        '<!-- not run: needs X -->\n```sh\nfalse\n```\n```sh\ntrue\n```\n```\nignored\n```',
      ),
      [
        { file: 'x.md', line: 2, script: 'false', skip: 'needs X' },
        { file: 'x.md', line: 5, script: 'true', skip: undefined },
      ],
    );
  });

  for (const b of blocks) {
    it(`${b.file}:${b.line}`, { skip: b.skip ?? false }, async () => {
      const r = await bash(b.script, dir, env);
      assert.equal(r.code, 0, `${b.file}:${b.line} failed:\n${b.script}\n---\n${r.out}`);
      if (/--json/.test(b.script)) assert.notEqual(r.out.trim(), '', 'a --json command printed nothing');
    });
  }
});
