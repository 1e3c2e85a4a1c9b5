/**
 * Sign-in throttling (RFC 9700 §4.x brute force; OWASP Authentication Cheat Sheet): per account
 * and per client IP. Once `max` failures sit inside the sliding window, further attempts wait
 * until `lockSec` after the latest of them. Every attempt is recorded *before* its password is
 * checked, so parallel attempts count each other; a successful one is then forgotten. The rows
 * live in the shared store, so every node sees the same counts.
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

/** An attempt in progress: its rows count as failures unless it succeeds. */
export interface SignInAttempt {
  readonly username: string;
  readonly ids: readonly string[];
}

export type AttemptDecision =
  | { allowed: true; attempt: SignInAttempt }
  | { allowed: false; retryAfterSec: number };

export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock,
    private readonly enabled: boolean,
    private readonly limits: ThrottleLimits = THROTTLE_DEFAULTS,
  ) {}

  /** Records the attempt, then decides whether its password may be checked. */
  async begin(username: string, ip: string): Promise<AttemptDecision> {
    if (!this.enabled) return { allowed: true, attempt: { username, ids: [] } };
    const now = this.clock.now();
    const ids = await this.store.recordFailure([accountKey(username), ipKey(ip)], now);
    const [account, byIp] = await Promise.all([
      this.#lockedUntil(accountKey(username), this.limits.accountFailures, now, ids),
      this.#lockedUntil(ipKey(ip), this.limits.ipFailures, now, ids),
    ]);
    const until = Math.max(account, byIp);
    if (until > now) {
      // Refused attempts do not extend the lock.
      await this.store.forget(ids);
      return { allowed: false, retryAfterSec: Math.ceil((until - now) / 1000) };
    }
    return { allowed: true, attempt: { username, ids } };
  }

  /** The password was right: the attempt was no failure, and the account starts afresh. */
  async succeeded(attempt: SignInAttempt): Promise<void> {
    if (!this.enabled) return;
    await this.store.forget(attempt.ids);
    await this.store.clear(accountKey(attempt.username));
  }

  /**
   * The password could not be checked (an internal error, e.g. a hashing thread failed): nothing
   * was learnt about it, so the attempt is no failure either.
   */
  async abandon(attempt: SignInAttempt): Promise<void> {
    if (!this.enabled) return;
    await this.store.forget(attempt.ids);
  }

  async #lockedUntil(key: string, max: number, now: number, own: readonly string[]): Promise<number> {
    const recent = await this.store.recentFailures(key, now - this.limits.windowSec * 1000, max + own.length);
    const others = recent.filter((r) => !own.includes(r.id));
    return others.length >= max ? others[0]!.at + this.limits.lockSec * 1000 : 0;
  }
}
