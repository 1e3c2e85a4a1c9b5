/**
 * How many processes `latchkey serve --workers N|auto` runs, and each one's share of the cores.
 * `--workers` wins over LATCHKEY_WORKERS; the default, 1, is the single process of old.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '../cli/args.js';

export const MAX_WORKERS = 256;

/** `--workers` (else LATCHKEY_WORKERS, where empty means unset): 1 to 256, or `auto` (one per core). */
export function workerCount(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cores = availableParallelism(),
): number {
  const fromEnv = env['LATCHKEY_WORKERS'];
  const [name, raw] =
    flag !== undefined ? ['--workers', flag] : ['LATCHKEY_WORKERS', fromEnv === '' ? undefined : fromEnv];
  if (raw === undefined) return 1;
  const text = raw.trim();
  if (text === 'auto') return Math.min(MAX_WORKERS, Math.max(1, cores));
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new UsageError(
      `${name} must be a whole number from 1 to ${MAX_WORKERS}, or auto (got ${JSON.stringify(raw)})`,
    );
  }
  return n;
}
