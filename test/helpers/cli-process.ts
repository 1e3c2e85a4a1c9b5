/**
 * The built `latchkey` command as a child process, as scripts and users run it: for tests that
 * need a real process (signals, crashes, locks between processes, a server beside the test).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLEAN_ENV, type CliResult, ROOT } from './cli.js';

export { CLEAN_ENV, type CliResult, ROOT };

/** The built command, as `npx latchkey` runs it (test/run.mjs builds first). */
export const BUILT_CLI = join(ROOT, 'dist/cli/latchkey.js');

export interface CliOptions {
  /** 'built' (default): dist/cli/latchkey.js (the package's bin); 'source': src/cli/latchkey.ts through tsx. */
  from?: 'built' | 'source';
  /** Added to the clean environment. */
  env?: Record<string, string>;
  /** A process group of its own (its pid is the group's id). */
  detached?: boolean;
}

/** Starts `latchkey <args>` with pipes on all three streams. */
export function spawnCli(args: string[], opts: CliOptions = {}): ChildProcessWithoutNullStreams {
  const entry = opts.from === 'source' ? ['--import', 'tsx', 'src/cli/latchkey.ts'] : [BUILT_CLI];
  return spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { ...CLEAN_ENV, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached === true,
  });
}

/**
 * Runs `latchkey <args>` as a child process to the end (stdin: `opts.stdin`, else empty) and
 * collects its output. Logging is silenced unless `opts.env` sets LATCHKEY_LOG_LEVEL.
 */
export function runCliProcess(
  args: string[],
  opts: CliOptions & { stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, { ...opts, env: { LATCHKEY_LOG_LEVEL: 'silent', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}
