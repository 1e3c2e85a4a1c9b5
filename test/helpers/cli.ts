/**
 * The `latchkey` command in the test's own process: runCli runs `main(argv, io)` (src/cli/main.ts)
 * with captured output, its own environment and standard input, and the cheap hashing and reused
 * keys of the test servers (helpers/server.ts) — the code of the executable without starting Node
 * each time. `serve` runs here only to see it refuse to start; a server that runs, and every
 * test that needs a real process (signals, locks between processes, the bin link), uses
 * helpers/cli-process.ts.
 */
import { join } from 'node:path';
import type { Io } from '../../src/cli/io.js';

/** The repository root: the working directory of every spawned command. */
export const ROOT = join(import.meta.dirname, '../..');

/** node --test marks its children with NODE_TEST_CONTEXT; a spawned CLI must not inherit it. */
const { NODE_TEST_CONTEXT: _ignored, ...cleanEnv } = process.env;
export const CLEAN_ENV: NodeJS.ProcessEnv = cleanEnv;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `latchkey <args>` to the end (stdin: `opts.stdin`, else empty) and collects its output.
 * Logging is silenced unless `opts.env` sets LATCHKEY_LOG_LEVEL.
 */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliResult> {
  const { main } = await import('../../src/cli/main.js');
  const { TEST_CONTEXT } = await import('./server.js');
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    stdin: async () => opts.stdin ?? '',
    env: { ...CLEAN_ENV, LATCHKEY_LOG_LEVEL: 'silent', ...opts.env },
    context: TEST_CONTEXT,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
