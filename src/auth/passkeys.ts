/**
 * Passkeys (WebAuthn Level 2/3) with @simplewebauthn/server: registration for a signed-in person
 * and sign-in with a discoverable credential and no username typed. The relying party is the
 * issuer: its host is the RP ID and its origin the only origin accepted.
 *
 * Challenges are random, stored once per ceremony and bound to what asked for them (the
 * interaction of a sign-in page, the session of the account page); a response is checked only
 * after its challenge was taken out of the store, so an assertion is accepted once (a replay finds
 * no challenge). The sign counter must move forward (WebAuthn §6.1.1 step 21, one atomic update):
 * a regression means a cloned authenticator, and the sign-in is refused and audited.
 *
 * Every input is the browser's JSON, size-capped and shape-checked before the library sees it;
 * whatever is wrong with it ends as a PasskeyError with a message for the page, never a 500.
 */

import { isIP } from 'node:net';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Clock } from '../clock.js';
import { randomToken } from '../crypto.js';
import type { AuditInput, AuditType } from '../ops/audit-log.js';
import {
  DuplicateError,
  type FactorStore,
  type Passkey,
  type User,
  type WebauthnChallengeStore,
} from '../storage/types.js';

/** A ceremony's challenge is good this long (WebAuthn's timeout for the browser is the same). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** The browser's JSON for one credential is far smaller; anything larger is refused unread. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_NAME = 64;

export class PasskeyError extends Error {
  override name = 'PasskeyError';
}

export interface PasskeyDeps {
  factors: FactorStore;
  challenges: WebauthnChallengeStore;
  clock: Clock;
  audit: { record(type: AuditType, input?: AuditInput): Promise<void> };
  users: { getById(id: string): Promise<User | undefined> };
  /** The issuer URL: its origin is the expected origin, its host the RP ID. */
  issuer: string;
}

/** A passkey sign-in that verified: who, with which credential, and what it proved. */
export interface PasskeySignIn {
  user: User;
  passkey: Passkey;
  /** The authenticator verified the person (PIN, biometrics). */
  userVerified: boolean;
}

/** RFC 8176: `swk` for a credential that may be synced (backup eligible), `hwk` for a device-bound one. */
export const passkeyMethod = (p: Pick<Passkey, 'backupEligible'>): 'swk' | 'hwk' =>
  p.backupEligible ? 'swk' : 'hwk';

/**
 * The form's `credential` field as the browser sent it. The form parameters' usual limit (4096
 * characters, protocol/params.ts) would drop a real response (a credential id may have 1023
 * bytes, and it appears four times), so the field is read from the body here; its size is
 * checked by parseCredentialJson (the body itself is capped at the same 64 KiB). Sent twice, it
 * is refused.
 */
export function credentialField(body: unknown): string | undefined {
  const v =
    body !== null && typeof body === 'object' ? (body as Record<string, unknown>)['credential'] : undefined;
  if (v === undefined || typeof v === 'string') return v;
  throw new PasskeyError('The passkey response is not a WebAuthn credential.');
}

/** The transports WebAuthn defines (§5.8.4), the only ones kept from a response's hints. */
const TRANSPORTS: ReadonlySet<string> = new Set<AuthenticatorTransportFuture>([
  'ble',
  'cable',
  'hybrid',
  'internal',
  'nfc',
  'smart-card',
  'usb',
]);

/**
 * The response's `transports` (hints for later ceremonies, passed through by the library
 * unchecked): the known names, at most 8; anything else is dropped, never stored.
 */
const cleanTransports = (t: unknown): string[] =>
  Array.isArray(t)
    ? [...new Set(t.filter((x): x is string => typeof x === 'string' && TRANSPORTS.has(x)))].slice(0, 8)
    : [];

/** The browser's response, parsed: an object with the fields WebAuthn's JSON has, or an error. */
export function parseCredentialJson<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(
  raw: string | undefined,
  kind: 'attestation' | 'assertion',
): T {
  if (raw === undefined || raw === '') throw new PasskeyError('No passkey response was sent.');
  if (Buffer.byteLength(raw) > MAX_RESPONSE_BYTES)
    throw new PasskeyError('The passkey response is too large.');
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new PasskeyError('The passkey response could not be read.');
  }
  const o = v as Record<string, unknown> | null;
  const r = o && typeof o === 'object' ? (o.response as Record<string, unknown> | undefined) : undefined;
  const str = (x: unknown) => typeof x === 'string' && x.length > 0 && /^[A-Za-z0-9_-]+={0,2}$/.test(x);
  const fields =
    kind === 'attestation'
      ? ['clientDataJSON', 'attestationObject']
      : ['clientDataJSON', 'authenticatorData', 'signature'];
  if (
    !o ||
    typeof o !== 'object' ||
    !str(o.id) ||
    !str(o.rawId) ||
    o.type !== 'public-key' ||
    !r ||
    typeof r !== 'object' ||
    fields.some((f) => !str(r[f]))
  )
    throw new PasskeyError('The passkey response is not a WebAuthn credential.');
  return o as unknown as T;
}

/**
 * A stored challenge (base64url) as the bytes the options carry. Given a string, the library
 * would encode its UTF-8 bytes instead, and the browser would sign (and send back in
 * clientDataJSON) a base64url of the base64url text: a challenge no store lookup finds.
 */
const challengeBytes = (challenge: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(Buffer.from(challenge, 'base64url'));

/** The challenge the browser signed, from clientDataJSON (checked again by the library). */
function challengeOf(clientDataJSON: string): string {
  try {
    const c = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as {
      challenge?: unknown;
    };
    if (typeof c.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(c.challenge)) return c.challenge;
  } catch {
    // falls through
  }
  throw new PasskeyError('The passkey response is not a WebAuthn credential.');
}

export class PasskeyService {
  readonly rpId: string;
  readonly origin: string;
  /**
   * WebAuthn's RP ID is a domain (WebAuthn §5.1.4: a valid domain string), so an issuer whose
   * host is an IP address (http://127.0.0.1:…) cannot offer passkeys; `localhost` can.
   */
  readonly available: boolean;

  constructor(private readonly deps: PasskeyDeps) {
    const u = new URL(deps.issuer);
    this.rpId = u.hostname;
    this.origin = u.origin;
    this.available = isIP(u.hostname.replace(/^\[|\]$/g, '')) === 0;
  }

  async #challenge(purpose: 'sign-in' | 'register', binding: string, userId: string | null): Promise<string> {
    const challenge = randomToken(32);
    await this.deps.challenges.save({
      challenge,
      purpose,
      binding,
      userId,
      expiresAt: this.deps.clock.now() + CHALLENGE_TTL_MS,
    });
    return challenge;
  }

  /** Options for navigator.credentials.create(): a discoverable credential, user verification preferred. */
  async registrationOptions(user: User, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.deps.factors.passkeysOf(user.id);
    return generateRegistrationOptions({
      rpName: this.rpId,
      rpID: this.rpId,
      userName: user.username,
      userDisplayName: user.name ?? user.username,
      userID: new TextEncoder().encode(user.id),
      challenge: challengeBytes(await this.#challenge('register', binding, user.id)),
      attestationType: 'none',
      timeout: CHALLENGE_TTL_MS,
      excludeCredentials: existing.map((p) => ({
        id: p.credentialId,
        transports: p.transports as AuthenticatorTransportFuture[],
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
  }

  /** Checks a registration and stores the passkey. */
  async register(user: User, binding: string, raw: string | undefined, name?: string): Promise<Passkey> {
    const response = parseCredentialJson<RegistrationResponseJSON>(raw, 'attestation');
    const challenge = challengeOf(response.response.clientDataJSON);
    const now = this.deps.clock.now();
    const stored = await this.deps.challenges.consume(challenge, 'register', binding, now);
    if (!stored || stored.userId !== user.id)
      throw new PasskeyError('This passkey request has expired or was already used. Try again.');
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo'];
    try {
      const v = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        requireUserVerification: false,
      });
      if (!v.verified || !v.registrationInfo) throw new Error('not verified');
      info = v.registrationInfo;
    } catch (err) {
      // The library's reason goes to the audit log, not to the page: it can be the text of an
      // internal error (a garbled attestation object) or echo what the response claimed.
      await this.deps.audit.record('passkey_failure', {
        userId: user.id,
        detail: { ceremony: 'registration', reason: (err as Error).message.slice(0, 200) },
      });
      throw new PasskeyError('The passkey could not be registered. Try again.');
    }
    const passkey: Passkey = {
      id: randomToken(12),
      userId: user.id,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: cleanTransports(info.credential.transports),
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
      name: cleanName(name) ?? 'Passkey',
      createdAt: now,
      lastUsedAt: null,
    };
    try {
      await this.deps.factors.addPasskey(passkey);
    } catch (err) {
      if (err instanceof DuplicateError) throw new PasskeyError('This passkey is registered already.');
      throw err;
    }
    await this.deps.audit.record('passkey_added', {
      userId: user.id,
      detail: { passkey: passkey.id, type: passkeyMethod(passkey) },
    });
    return passkey;
  }

  /**
   * Options for navigator.credentials.get(). With no user: any discoverable credential of this
   * RP (the sign-in page, conditional mediation), user verification required. With a user (a
   * second factor): their credentials.
   */
  async signInOptions(binding: string, user?: User): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = user ? await this.deps.factors.passkeysOf(user.id) : [];
    return generateAuthenticationOptions({
      rpID: this.rpId,
      challenge: challengeBytes(await this.#challenge('sign-in', binding, user?.id ?? null)),
      timeout: CHALLENGE_TTL_MS,
      userVerification: user ? 'preferred' : 'required',
      allowCredentials: allow.map((p) => ({
        id: p.credentialId,
        transports: p.transports as AuthenticatorTransportFuture[],
      })),
    });
  }

  /**
   * Checks an assertion for the ceremony bound to `binding`. `requireUserVerification`: a
   * passwordless sign-in (the passkey is the only factor) must verify the person.
   */
  async signIn(
    binding: string,
    raw: string | undefined,
    opts: {
      requireUserVerification: boolean;
      /**
       * A second factor: the person the passkey must be of. Checked before the assertion, so
       * another person's passkey is neither verified nor marked used (a challenge made before
       * anyone was known, on the sign-in page, takes any passkey).
       */
      userId?: string;
      ip?: string;
      clientId?: string;
    },
  ): Promise<PasskeySignIn> {
    const response = parseCredentialJson<AuthenticationResponseJSON>(raw, 'assertion');
    const challenge = challengeOf(response.response.clientDataJSON);
    const now = this.deps.clock.now();
    const stored = await this.deps.challenges.consume(challenge, 'sign-in', binding, now);
    if (!stored) throw new PasskeyError('This passkey request has expired or was already used. Try again.');
    const passkey = await this.deps.factors.passkeyByCredentialId(response.id);
    if (!passkey || (stored.userId !== null && stored.userId !== passkey.userId))
      throw new PasskeyError('This passkey is not registered here.');
    if (opts.userId !== undefined && opts.userId !== passkey.userId)
      throw new PasskeyError('This passkey belongs to another account.');
    const user = await this.deps.users.getById(passkey.userId);
    if (!user || user.disabled) throw new PasskeyError('This passkey is not registered here.');
    const audit = { userId: user.id, clientId: opts.clientId ?? null, ip: opts.ip ?? null };
    let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];
    try {
      const v = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        credential: {
          id: passkey.credentialId,
          publicKey: Buffer.from(passkey.publicKey, 'base64url'),
          counter: passkey.counter,
          transports: passkey.transports as AuthenticatorTransportFuture[],
        },
        requireUserVerification: opts.requireUserVerification,
      });
      if (!v.verified) throw new Error('not verified');
      info = v.authenticationInfo;
    } catch (err) {
      const message = (err as Error).message;
      if (/counter/i.test(message)) return this.#cloned(passkey, audit, message);
      await this.deps.audit.record('passkey_failure', {
        ...audit,
        detail: { passkey: passkey.id, reason: message.slice(0, 200) },
      });
      throw new PasskeyError(
        /user verification/i.test(message)
          ? 'Your passkey did not verify you (PIN or biometrics). Try again, or use your password.'
          : 'The passkey could not be verified. Try again.',
      );
    }
    // WebAuthn §6.1.1: the counter moves forward in one statement, or this is a cloned authenticator.
    if (
      !(await this.deps.factors.usePasskey(passkey.id, {
        counter: info.newCounter,
        backedUp: info.credentialBackedUp,
        at: now,
      }))
    )
      return this.#cloned(passkey, audit, `counter ${info.newCounter} after ${passkey.counter}`);
    return { user, passkey, userVerified: info.userVerified };
  }

  async #cloned(passkey: Passkey, audit: AuditInput, reason: string): Promise<never> {
    await this.deps.audit.record('passkey_counter_regression', {
      ...audit,
      detail: { passkey: passkey.id, reason },
    });
    throw new PasskeyError(
      'This passkey looks copied (its signature counter went back), so it was refused. Sign in another way and remove it.',
    );
  }
}

export function cleanName(name: string | undefined): string | undefined {
  const n = name
    ?.replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, MAX_NAME);
  return n ? n : undefined;
}
