/** Argument parsing shared by the commands: strict flags, one-line errors. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Io } from './io.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(
  argv: string[],
  options: O,
  positionals = 0,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>> {
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals > 0 });
    if (r.positionals.length > positionals)
      throw new UsageError(`unexpected argument: ${r.positionals[positionals]}`);
    return r;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, ''));
  }
}

export const dbOption = { db: { type: 'string' } } as const;
export const jsonOption = { json: { type: 'boolean', default: false } } as const;

export async function readStdin(io: Io): Promise<string> {
  const text = await io.stdin();
  if (text === undefined) throw new UsageError('--password-stdin expects the password on standard input');
  // One trailing newline is stripped (as `echo` adds it), nothing else.
  return text.replace(/\r?\n$/, '');
}

export function print(io: Io, json: boolean, value: unknown, human: () => string): void {
  io.out(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
