/**
 * Password sign-in, the one sequence behind every form that takes a password (the sign-in page
 * of an authorization request and the admin console's): read the username, throttle, look the
 * user up, verify the password, audit the outcome. The forms only render what it decides.
 *
 * - The throttle reserves the attempt first (login-throttle.ts): at most its limit of passwords
 *   is checked, however many arrive at once.
 * - An unknown user costs the same argon2 time as a known one (verifyPassword's dummy hash), and
 *   every failure shows the same message: the page never tells which part was wrong (OWASP
 *   Authentication Cheat Sheet, "Authentication and Error Messages").
 * - An error while checking (a hashing thread failed, the database went away) is no wrong
 *   password: the attempt is abandoned, not counted, and the error goes on to the caller.
 */
import type { AuditInput, AuditType } from '../ops/audit-log.js';
import type { User } from '../storage/types.js';
import type { LoginThrottle } from './login-throttle.js';

/** Usernames are at most this long; a longer one is looked up as no user at all. */
export const MAX_USERNAME_LENGTH = 128;

export interface SignInDeps {
  users: { getByUsername(username: string): Promise<User | undefined> };
  throttle: Pick<LoginThrottle, 'begin' | 'checking' | 'failed' | 'succeeded'>;
  audit: { record(type: AuditType, input?: AuditInput): Promise<void> };
  verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean>;
}

/** Which form the password came through: written to the audit events as `detail.via`. */
export type SignInVia = 'sign-in' | 'console' | 'account';

export interface PasswordSignIn {
  /** As typed; surrounding spaces are dropped. */
  username: string;
  password: string;
  ip: string;
  via: SignInVia;
  /** The application the person is signing in to (audit events carry it). */
  clientId?: string;
  /**
   * What else the form requires of the account once its password is right, as the reason it is
   * refused (the console: `not_admin`), or undefined to let it in.
   */
  refuse?: (user: User) => string | undefined;
}

export type FailureReason = 'unknown_user' | 'wrong_password' | 'disabled';

export type SignInResult =
  | { outcome: 'ok'; user: User; username: string }
  | { outcome: 'missing'; username: string; message: string }
  | { outcome: 'throttled'; username: string; retryAfterSec: number; message: string }
  | { outcome: 'failed'; username: string; reason: FailureReason; message: string }
  /** The password was right (no failure counted) but `refuse` said no. */
  | { outcome: 'refused'; username: string; user: User; reason: string };

/** The words a person reads; the same on every form. */
export const SIGN_IN_MESSAGES = {
  missing: 'Enter your username and password.',
  failed: 'Wrong username or password.',
  throttled: (retryAfterSec: number): string => {
    const minutes = Math.max(1, Math.ceil(retryAfterSec / 60));
    return `Too many failed sign-in attempts. Try again in ${minutes} minute${minutes > 1 ? 's' : ''}.`;
  },
} as const;

export async function signInWithPassword(deps: SignInDeps, input: PasswordSignIn): Promise<SignInResult> {
  const username = input.username.trim();
  const { password, ip, via } = input;
  if (!username || !password) return { outcome: 'missing', username, message: SIGN_IN_MESSAGES.missing };
  const logged = username.slice(0, MAX_USERNAME_LENGTH);
  const clientId = input.clientId ?? null;

  const decision = await deps.throttle.begin(username, ip);
  if (!decision.allowed) {
    await deps.audit.record('login_throttled', { clientId, ip, detail: { via, username: logged } });
    const retryAfterSec = decision.retryAfterSec;
    return {
      outcome: 'throttled',
      username,
      retryAfterSec,
      message: SIGN_IN_MESSAGES.throttled(retryAfterSec),
    };
  }
  const { user, ok } = await deps.throttle.checking(decision.attempt, async () => {
    const user =
      username.length <= MAX_USERNAME_LENGTH ? await deps.users.getByUsername(username) : undefined;
    return { user, ok: await deps.verifyPassword(user?.passwordHash, password) };
  });
  if (!ok || !user || user.disabled) {
    await deps.throttle.failed(decision.attempt);
    const reason: FailureReason = !user ? 'unknown_user' : !ok ? 'wrong_password' : 'disabled';
    await deps.audit.record('login_failure', {
      clientId,
      userId: user?.id ?? null,
      ip,
      detail: { via, username: logged, reason },
    });
    return { outcome: 'failed', username, reason, message: SIGN_IN_MESSAGES.failed };
  }
  // The right password: never a failure, whatever the form requires besides.
  await deps.throttle.succeeded(decision.attempt);
  const refused = input.refuse?.(user);
  if (refused !== undefined) {
    await deps.audit.record('login_failure', {
      clientId,
      userId: user.id,
      ip,
      detail: { via, username: user.username, reason: refused },
    });
    return { outcome: 'refused', username, user, reason: refused };
  }
  await deps.audit.record('login_success', { clientId, userId: user.id, ip, detail: { via } });
  return { outcome: 'ok', user, username };
}
