/**
 * Durations as people write them, for every flag and setting that takes a time: `90` (seconds,
 * as before), `90s`, `15m`, `1h`, `7d`, or a sum such as `1h30m`. One parser for the
 * configuration, the CLI and the admin forms.
 */

const UNIT_SEC: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(?:\d{1,9}|(?:\d{1,9}[smhd])+)$/;

/** Seconds, or undefined when `text` is not a duration. Negative durations are not durations. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (!DURATION.test(t)) return undefined;
  if (/^\d+$/.test(t)) return Number(t);
  let total = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([smhd])/g)) total += Number(n) * UNIT_SEC[unit!]!;
  return Number.isSafeInteger(total) ? total : undefined;
}

/** `90` → `1m30s`, `86400` → `1d`, `0` → `0s`: the shortest exact spelling, for messages. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = Math.abs(seconds);
  let out = seconds < 0 ? '-' : '';
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/** What a wrong duration's error message says it should look like. */
export const DURATION_HINT = 'seconds, or a duration such as 90s, 15m, 1h, 7d';
