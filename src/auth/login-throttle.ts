/**
 * Sign-in throttling (RFC 9700 §4.x brute force; OWASP Authentication Cheat Sheet): per account
 * and per client IP. Once `max` failures sit inside the sliding window, further attempts wait
 * until `lockSec` after the latest of them.
 *
 * Before its password is checked an attempt takes a reservation (atomically, on every node), and
 * only while the failures and the reservations of the attempts in progress stay under `max`: so
 * parallel wrong guesses cannot all slip through, at most `max` passwords are checked. An attempt
 * kept out only by attempts in progress waits for them rather than being refused. The reservation
 * becomes a failure only when the password proves wrong; it is deleted when the password is right
 * or cannot be checked, and it counts for `leaseSec` at most (a process that dies mid-check leaves
 * nothing that counts for long). The rows live in the shared store, so every node sees the same.
 */
import type { Clock } from '../clock.js';
import type { ThrottleCounts, ThrottleStore } from '../storage/types.js';

export interface ThrottleLimits {
  windowSec: number;
  accountFailures: number;
  ipFailures: number;
  lockSec: number;
  /**
   * How long an attempt's reservation counts at most: longer than a password check takes, short
   * enough that the reservations of a process that died mid-check soon stop counting.
   */
  leaseSec: number;
  /**
   * Failures counted across the whole server under one key (`global:<kind>`), beside those per
   * account and per IP; unset: none. For user codes at /device (RFC 8628 §5.1): the code space is
   * small, so guesses spread over many IPs are bounded too.
   */
  globalFailures?: number;
}

export const THROTTLE_DEFAULTS: ThrottleLimits = {
  windowSec: 15 * 60,
  accountFailures: 5,
  ipFailures: 30,
  lockSec: 5 * 60,
  leaseSec: 5,
};

/** Waiting for attempts in progress: polls 10 ms apart at first, then up to 100 ms (jittered). */
const POLL_FIRST_MS = 10;
const POLL_MAX_MS = 100;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `account:<username>` for passwords; other kinds of attempt (second factors) count apart. */
const accountKey = (prefix: string, username: string) => `${prefix}:${username.toLowerCase().slice(0, 128)}`;
const ipKey = (ip: string) => `ip:${ip}`;

/** An attempt in progress: its reservation rows, until it fails, succeeds or is abandoned. */
export interface SignInAttempt {
  readonly username: string;
  readonly ids: readonly string[];
}

export type AttemptDecision =
  | { allowed: true; attempt: SignInAttempt }
  | { allowed: false; retryAfterSec: number; global?: true };

/** Go ahead; wait for attempts in progress; or locked until the given time (by the global key?). */
type Verdict = 'go' | 'wait' | { lockedUntil: number; global: boolean };

export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock,
    private readonly enabled: boolean,
    private readonly limits: ThrottleLimits = THROTTLE_DEFAULTS,
    /**
     * What the per-account key counts: `account` (passwords), `factor` (one-time codes) or
     * `device` (user codes typed at /device, keyed by IP).
     */
    private readonly accountPrefix: 'account' | 'factor' | 'device' = 'account',
  ) {}

  /**
   * Reserves a place for the attempt, then says whether its password may be checked. While only
   * other attempts in progress stand in the way it waits for them (a lease's time at most): a
   * right password frees its place, a wrong one becomes a failure and may lock the account.
   */
  async begin(username: string, ip: string): Promise<AttemptDecision> {
    if (!this.enabled) return { allowed: true, attempt: { username, ids: [] } };
    const keys = [
      { key: accountKey(this.accountPrefix, username), limit: this.limits.accountFailures },
      { key: ipKey(ip), limit: this.limits.ipFailures },
      ...(this.limits.globalFailures !== undefined
        ? [{ key: `global:${this.accountPrefix}`, limit: this.limits.globalFailures, global: true }]
        : []),
    ];
    const leaseMs = this.limits.leaseSec * 1000;
    const started = this.clock.now();
    // Bounded in polls too, should the clock stand still.
    const maxPolls = Math.ceil((2 * leaseMs) / POLL_MAX_MS) + 10;
    for (let poll = 0; ; poll++) {
      const now = this.clock.now();
      const opts = { now, since: now - this.limits.windowSec * 1000, leaseUntil: now + leaseMs };
      const { ids, counts } = await this.store.reserve(
        keys,
        opts,
        (c) => this.#verdict(keys, c, now) === 'go',
      );
      if (ids) return { allowed: true, attempt: { username, ids } };
      const verdict = this.#verdict(keys, counts, now);
      if (typeof verdict === 'object') {
        const retryAfterSec = Math.ceil((verdict.lockedUntil - now) / 1000);
        return { allowed: false, retryAfterSec, ...(verdict.global ? { global: true as const } : {}) };
      }
      if (now - started > leaseMs || poll >= maxPolls) {
        return { allowed: false, retryAfterSec: this.limits.leaseSec };
      }
      const delay = Math.min(POLL_MAX_MS, POLL_FIRST_MS * 2 ** poll);
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }

  /**
   * Per key: locked while `limit` failures sit in the window and the latest is under `lockSec`
   * old; otherwise the failures and the attempts in progress together may not reach the limit
   * (after a lock, one attempt at a time).
   */
  #verdict(
    keys: readonly { limit: number; global?: boolean }[],
    counts: readonly ThrottleCounts[],
    now: number,
  ): Verdict {
    let lockedUntil = 0;
    let global = false;
    let wait = false;
    keys.forEach(({ limit, global: isGlobal }, i) => {
      const { failures, latestFailureAt, pending } = counts[i]!;
      if (failures >= limit) {
        const until = (latestFailureAt ?? 0) + this.limits.lockSec * 1000;
        if (until > now && until >= lockedUntil) {
          global = isGlobal === true;
          lockedUntil = until;
        } else if (pending > 0) wait = true;
      } else if (failures + pending >= limit) {
        wait = true;
      }
    });
    if (lockedUntil > now) return { lockedUntil, global };
    return wait ? 'wait' : 'go';
  }

  /**
   * Runs the attempt's password check (the user's look-up included). An error in it (e.g. a
   * hashing thread failed) tells nothing about the password: the attempt is abandoned, no
   * failure, and the error rethrown.
   */
  async checking<T>(attempt: SignInAttempt, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (err) {
      // Should this fail too, the reservation stops counting at the end of its lease.
      await this.abandon(attempt).catch(() => {});
      throw err;
    }
  }

  /** The password was wrong (or the user unknown or disabled): the attempt counts as a failure. */
  async failed(attempt: SignInAttempt): Promise<void> {
    if (!this.enabled) return;
    await this.store.fail(attempt.ids, this.clock.now());
  }

  /** The password was right: the attempt was no failure, and the account starts afresh. */
  async succeeded(attempt: SignInAttempt): Promise<void> {
    if (!this.enabled) return;
    await this.store.forget(attempt.ids);
    await this.store.clear(accountKey(this.accountPrefix, attempt.username));
  }

  /** The password could not be checked: nothing was learnt about it, so no failure either. */
  async abandon(attempt: SignInAttempt): Promise<void> {
    if (!this.enabled) return;
    await this.store.forget(attempt.ids);
  }
}
