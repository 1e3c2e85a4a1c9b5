/**
 * Sign-in throttling (RFC 9700 §4.x brute force; OWASP Authentication Cheat Sheet):
 * per account and per client IP, failures in a sliding window lock further attempts for a while.
 * Kept in memory per node; see README "Several nodes".
 */
import type { Clock } from '../clock.js';

interface Window {
  failures: number[];
  lockedUntil: number;
}

export interface ThrottleLimits {
  windowSec: number;
  accountFailures: number;
  ipFailures: number;
  lockSec: number;
}

const DEFAULTS: ThrottleLimits = { windowSec: 15 * 60, accountFailures: 5, ipFailures: 30, lockSec: 5 * 60 };
const MAX_TRACKED = 100_000;

export class LoginThrottle {
  #accounts = new Map<string, Window>();
  #ips = new Map<string, Window>();

  constructor(
    private readonly clock: Clock,
    private readonly enabled: boolean,
    private readonly limits: ThrottleLimits = DEFAULTS,
  ) {}

  /** Seconds to wait before another attempt is allowed, or 0. */
  retryAfter(username: string, ip: string): number {
    if (!this.enabled) return 0;
    const now = this.clock.now();
    const until = Math.max(
      this.#lockedUntil(this.#accounts, username.toLowerCase(), now),
      this.#lockedUntil(this.#ips, ip, now),
    );
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  recordFailure(username: string, ip: string): void {
    if (!this.enabled) return;
    const now = this.clock.now();
    this.#add(this.#accounts, username.toLowerCase(), now, this.limits.accountFailures);
    this.#add(this.#ips, ip, now, this.limits.ipFailures);
  }

  recordSuccess(username: string): void {
    this.#accounts.delete(username.toLowerCase());
  }

  #lockedUntil(map: Map<string, Window>, key: string, now: number): number {
    const w = map.get(key);
    if (!w) return 0;
    if (w.lockedUntil <= now && w.failures.every((t) => now - t > this.limits.windowSec * 1000))
      map.delete(key);
    return w.lockedUntil;
  }

  #add(map: Map<string, Window>, key: string, now: number, max: number): void {
    if (map.size >= MAX_TRACKED && !map.has(key)) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    const w = map.get(key) ?? { failures: [], lockedUntil: 0 };
    w.failures = w.failures.filter((t) => now - t <= this.limits.windowSec * 1000);
    w.failures.push(now);
    if (w.failures.length >= max) {
      w.lockedUntil = now + this.limits.lockSec * 1000;
      w.failures = [];
    }
    map.set(key, w);
  }
}
