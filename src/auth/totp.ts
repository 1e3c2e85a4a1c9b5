/**
 * One-time codes from an authenticator app (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30-second
 * steps, the parameters every app reads from an `otpauth://` URI). Enrolment makes a secret and
 * shows it as a QR code and as text; the first valid code confirms it. A code is accepted for the
 * current step and one step either side (RFC 6238 §5.2: clock drift), each step once per factor
 * (the store moves `last_step` forward in one statement, so a code is used once across nodes),
 * and attempts are throttled like passwords (the shared `factor:<user id>` counter).
 */
import * as OTPAuth from 'otpauth';
import type { Clock } from '../clock.js';
import { randomToken } from '../crypto.js';
import type { FactorStore, TotpFactor, User } from '../storage/types.js';
import { openFactorSecret, sealFactorSecret } from './factor-secrets.js';
import type { LoginThrottle } from './login-throttle.js';
import { qrSvg } from './qr-svg.js';

const PERIOD = 30;
const DIGITS = 6;
/** Steps of drift accepted either side (RFC 6238 §5.2 recommends at most one). */
const WINDOW = 1;

export interface TotpDeps {
  factors: FactorStore;
  clock: Clock;
  throttle: Pick<LoginThrottle, 'begin' | 'checking' | 'failed' | 'succeeded'>;
  /** LATCHKEY_KEY_ENCRYPTION_KEY: seeds are sealed with it when set. */
  kek: string | undefined;
  /** The name authenticator apps show beside the account (the issuer's host). */
  issuerName: string;
}

export interface TotpEnrolment {
  factor: TotpFactor;
  /** Base32, for typing into an app. */
  secret: string;
  uri: string;
  qrSvg: string;
}

export type CodeCheck =
  | { outcome: 'ok'; factor: TotpFactor }
  | { outcome: 'wrong' }
  | { outcome: 'throttled'; retryAfterSec: number };

/** Six digits; spaces a person types between groups are dropped. */
export const normaliseCode = (code: string): string => code.replace(/[\s-]/g, '');

export class TotpService {
  constructor(private readonly deps: TotpDeps) {}

  #totp(user: User, secret: string): OTPAuth.TOTP {
    return new OTPAuth.TOTP({
      issuer: this.deps.issuerName,
      label: user.username,
      algorithm: 'SHA1',
      digits: DIGITS,
      period: PERIOD,
      secret: OTPAuth.Secret.fromBase32(secret),
    });
  }

  #view(user: User, factor: TotpFactor): TotpEnrolment {
    const secret = openFactorSecret(this.deps.kek, factor.id, factor.secretSealed);
    const uri = this.#totp(user, secret).toString();
    return { factor, secret, uri, qrSvg: qrSvg(uri, { title: 'QR code for your authenticator app' }) };
  }

  /** A new, unconfirmed factor (it replaces an earlier unconfirmed one). */
  async startEnrolment(user: User): Promise<TotpEnrolment> {
    const id = randomToken(12);
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    const now = this.deps.clock.now();
    const factor: TotpFactor = {
      id,
      userId: user.id,
      secretSealed: sealFactorSecret(this.deps.kek, id, secret),
      name: 'Authenticator app',
      createdAt: now,
      confirmedAt: null,
      lastUsedAt: null,
      lastStep: 0,
    };
    await this.deps.factors.addTotp(factor);
    return this.#view(user, factor);
  }

  /** The enrolment waiting for its first code, to show again (a wrong code re-renders the page). */
  async pendingEnrolment(user: User): Promise<TotpEnrolment | undefined> {
    const pending = (await this.deps.factors.totpOf(user.id)).find((f) => f.confirmedAt === null);
    return pending && this.#view(user, pending);
  }

  async hasConfirmed(userId: string): Promise<boolean> {
    return (await this.deps.factors.totpOf(userId)).some((f) => f.confirmedAt !== null);
  }

  /** Confirms the pending enrolment `factorId` with its first code. */
  async confirm(user: User, factorId: string, code: string, ip: string): Promise<CodeCheck> {
    const factor = (await this.deps.factors.totpOf(user.id)).find(
      (f) => f.id === factorId && f.confirmedAt === null,
    );
    return this.#check(user, factor ? [factor] : [], code, ip);
  }

  /** Checks a code against the person's confirmed factors. */
  async verify(user: User, code: string, ip: string): Promise<CodeCheck> {
    const factors = (await this.deps.factors.totpOf(user.id)).filter((f) => f.confirmedAt !== null);
    return this.#check(user, factors, code, ip);
  }

  async #check(user: User, factors: TotpFactor[], raw: string, ip: string): Promise<CodeCheck> {
    const code = normaliseCode(raw);
    const decision = await this.deps.throttle.begin(user.id, ip);
    if (!decision.allowed) return { outcome: 'throttled', retryAfterSec: decision.retryAfterSec };
    const now = this.deps.clock.now();
    const matched = await this.deps.throttle.checking(decision.attempt, async () => {
      if (!/^\d{6}$/.test(code)) return undefined;
      for (const f of factors) {
        const totp = this.#totp(user, openFactorSecret(this.deps.kek, f.id, f.secretSealed));
        const delta = totp.validate({ token: code, timestamp: now, window: WINDOW });
        if (delta === null) continue;
        const step = totp.counter({ timestamp: now }) + delta;
        // Used once: a step at or before the last accepted one is a replay.
        if (await this.deps.factors.useTotpStep(f.id, step, now)) return f;
      }
      return undefined;
    });
    if (!matched) {
      await this.deps.throttle.failed(decision.attempt);
      return { outcome: 'wrong' };
    }
    await this.deps.throttle.succeeded(decision.attempt);
    return { outcome: 'ok', factor: matched };
  }
}

/** The code an app shows at `at` for a base32 secret (tests and the demo). */
export function totpCodeAt(secret: string, at: number): string {
  return OTPAuth.TOTP.generate({
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    timestamp: at,
  });
}
