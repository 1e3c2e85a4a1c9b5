/** Small helpers shared by the benchmark processes: PKCE values, cookies, percentiles, /proc. */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export const REDIRECT_URI = 'http://127.0.0.1/callback';
export const USERNAME = 'bench';
export const PASSWORD = 'bench-password-0123456789';

/**
 * The benchmark's people: `bench-0` … `bench-(n-1)`, all with PASSWORD. Every load worker is its
 * own person with its own browser session (bench/README.md, How we measure).
 */
export const userName = (i: number): string => `bench-${i}`;
export const USER_NAME_PATTERN = /^bench-\d{1,6}$/;

export const b64url = (buf: Buffer): string => buf.toString('base64url');
export const random = (bytes = 16): string => b64url(randomBytes(bytes));
export const s256 = (verifier: string): string => b64url(createHash('sha256').update(verifier).digest());

/** What one scenario of the load generator reports (one JSON line on its stdout). */
export interface LoadResult {
  scenario: string;
  concurrency: number;
  seconds: number;
  count: number;
  perSecond: number;
  p50: number | null;
  p99: number | null;
  errors: number;
  firstErrors: string[];
  /** Server CPU time (user + system, all threads) per recorded iteration, in ms. */
  serverCpuMsPerIteration?: number;
  /** The server's CPU time over the measured window, as a share of one core (1 = one busy core). */
  serverCores?: number;
  /** The load generator's own CPU time over the window, as a share of one core. */
  loadCores?: number;
  /** Per step latencies (ms) where a scenario has several requests per iteration. */
  steps: Record<string, { p50: number | null; p99: number | null; count: number }>;
  /** A few access tokens for the verification benchmark. */
  accessTokens?: string[];
  /** With DPoP: the private JWK each of `accessTokens` is bound to (same order). */
  dpopKeys?: Record<string, unknown>[];
}

/** Latencies in milliseconds; percentiles by nearest rank. */
export class Latencies {
  #values: number[] = [];
  add(ms: number): void {
    this.#values.push(ms);
  }
  get count(): number {
    return this.#values.length;
  }
  percentile(p: number): number | null {
    if (this.#values.length === 0) return null;
    const sorted = Float64Array.from(this.#values).sort();
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return Math.round((sorted[rank] ?? 0) * 100) / 100;
  }
  summary(): { p50: number | null; p99: number | null; count: number } {
    return { p50: this.percentile(50), p99: this.percentile(99), count: this.count };
  }
}

/** A per-worker cookie jar: name → value, from Set-Cookie headers (path/domain ignored: one host). */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  constructor(initial?: string) {
    if (initial) {
      for (const part of initial.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0) this.cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
      }
    }
  }
  store(setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    for (const c of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(c) || /expires=Thu, 01 Jan 1970/i.test(c))
        this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Reads a number flag such as `--port 3000` from an argv list. */
export function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** A process and its descendants (a `serve --workers N` primary and its workers), from /proc. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const tasks = readdirSync(`/proc/${out[i]}/task`);
      for (const t of tasks) {
        const children = readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim();
        if (children) out.push(...children.split(' ').map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
