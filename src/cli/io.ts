/**
 * What a command reads and writes besides its arguments: standard output and error, standard
 * input, the environment, and what the admin commands' server context is given. The executable
 * passes the process's own (processIo); tests run `main(argv, io)` in their own process with
 * captured output, a given environment and cheaper hashing.
 */
import type { ContextOptions } from '../context.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Standard input to its end; undefined when it is a terminal (nothing was piped in). */
  stdin(): Promise<string | undefined>;
  env: NodeJS.ProcessEnv;
  /** For the context of admin commands (src/context.ts). */
  context?: ContextOptions;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  async stdin() {
    if (process.stdin.isTTY) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
};
