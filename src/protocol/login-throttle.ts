/**
 * Sign-in throttling (RFC 9700 §4.x brute force; OWASP Authentication Cheat Sheet): per account
 * and per client IP. When the failures inside the sliding window reach the limit, further
 * attempts wait until `lockSec` after the latest failure. The failures live in the shared
 * store, so every node sees the same counts.
 */
import type { Clock } from '../clock.js';
import type { ThrottleStore } from '../storage/types.js';

export interface ThrottleLimits {
  windowSec: number;
  accountFailures: number;
  ipFailures: number;
  lockSec: number;
}

export const THROTTLE_DEFAULTS: ThrottleLimits = {
  windowSec: 15 * 60,
  accountFailures: 5,
  ipFailures: 30,
  lockSec: 5 * 60,
};

const accountKey = (username: string) => `account:${username.toLowerCase().slice(0, 128)}`;
const ipKey = (ip: string) => `ip:${ip}`;

export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock,
    private readonly enabled: boolean,
    private readonly limits: ThrottleLimits = THROTTLE_DEFAULTS,
  ) {}

  /** Seconds to wait before another attempt is allowed, or 0. */
  async retryAfter(username: string, ip: string): Promise<number> {
    if (!this.enabled) return 0;
    const now = this.clock.now();
    const [account, byIp] = await Promise.all([
      this.#lockedUntil(accountKey(username), this.limits.accountFailures, now),
      this.#lockedUntil(ipKey(ip), this.limits.ipFailures, now),
    ]);
    const until = Math.max(account, byIp);
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    if (!this.enabled) return;
    await this.store.recordFailure([accountKey(username), ipKey(ip)], this.clock.now());
  }

  async recordSuccess(username: string): Promise<void> {
    if (!this.enabled) return;
    await this.store.clear(accountKey(username));
  }

  async #lockedUntil(key: string, max: number, now: number): Promise<number> {
    const recent = await this.store.failuresSince(key, now - this.limits.windowSec * 1000, max);
    return recent.length >= max ? recent[0]! + this.limits.lockSec * 1000 : 0;
  }
}
