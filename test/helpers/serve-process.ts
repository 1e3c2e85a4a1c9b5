/** `latchkey serve` as a child process (the built command), started without waiting for it. */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawnCli } from './cli-process.js';

export interface SpawnedServe {
  child: ChildProcessWithoutNullStreams;
  /** The same process as `child`. */
  proc: ChildProcessWithoutNullStreams;
  /** Resolves with the exit code (null after a signal) when the process ends. */
  exited: Promise<number | null>;
  /** Resolves once it listens; rejects with its output if it exits first. */
  ready: Promise<void>;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM (SIGKILL if it does not listen yet) and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `latchkey serve --db <db>` on a free port of 127.0.0.1. */
export function spawnServe(db: string, env: Record<string, string> = {}): SpawnedServe {
  const child = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', '--db', db], {
    env: { LATCHKEY_LOG_LEVEL: 'warn', ...env },
  });
  child.stdin.end();
  let out = '';
  let listening = false;
  let ended = false;
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      ended = true;
      resolve(code);
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 30 s:\n${out}`)), 30_000);
    child.stdout.on('data', () => {
      if (!listening && out.includes('Latchkey listening on')) {
        listening = true;
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`serve exited before listening:\n${out}`));
    });
  });
  ready.catch(() => {});
  return {
    child,
    proc: child,
    exited,
    ready,
    output: () => out,
    async stop() {
      if (!ended) child.kill(listening ? 'SIGTERM' : 'SIGKILL');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}
