/**
 * What a sign-in still needs, decided in one place from what the person did (their session's or
 * this interaction's methods), what they have (their factors) and what is asked (the
 * application's MFA policy, `acr_values`, an administrator's "enrol at next sign-in").
 *
 * Levels, weakest first (the `acr` values of discovery's acr_values_supported):
 * - `pwd`: one factor — a password, or a passkey that did not verify the person;
 * - `mfa`: two factors (a password and a one-time code or a passkey), or a passkey that verified
 *   the person (WebAuthn user verification: possession plus PIN or biometrics);
 * - `phr`: phishing-resistant — a passkey that verified the person.
 *
 * Enrolment of a first factor on the spot is allowed only for a person who has none (never a new
 * factor on a password alone for someone who has factors: they use a recovery code or ask an
 * administrator), and not for applications whose policy is `none` unless an administrator asked.
 */
import type { AuthMethods, FactorSummary, MfaPolicy } from '../storage/types.js';

export const ACR = {
  pwd: 'urn:latchkey:acr:pwd',
  mfa: 'urn:latchkey:acr:mfa',
  phr: 'urn:latchkey:acr:phr',
} as const;
export type Level = keyof typeof ACR;
export const ACR_VALUES_SUPPORTED: string[] = Object.values(ACR);
const RANK: Record<Level | 'none', number> = { none: 0, pwd: 1, mfa: 2, phr: 3 };

export const hasSecondFactor = (f: FactorSummary): boolean =>
  f.passkeys > 0 || f.totp || f.recoveryCodesLeft > 0;
export const hasAnyFactor = hasSecondFactor;

/** The level the methods reach. */
export function levelOf(m: AuthMethods): Level | 'none' {
  const passkey = m.hwk !== undefined || m.swk !== undefined;
  if (passkey && m.uv !== undefined) return 'phr';
  const factors = (m.pwd !== undefined ? 1 : 0) + (m.otp !== undefined ? 1 : 0) + (passkey ? 1 : 0);
  if (factors >= 2) return 'mfa';
  return factors === 1 ? 'pwd' : 'none';
}

/** RFC 8176 `amr`: the methods used, `user` when a passkey verified the person, `mfa` at that level or above. */
export function amrOf(m: AuthMethods): string[] {
  const amr: string[] = [];
  for (const k of ['pwd', 'otp', 'hwk', 'swk'] as const) if (m[k] !== undefined) amr.push(k);
  if (m.uv !== undefined) amr.push('user');
  if (RANK[levelOf(m)] >= RANK.mfa) amr.push('mfa');
  return amr;
}

export function acrOf(m: AuthMethods): string | undefined {
  const level = levelOf(m);
  return level === 'none' ? undefined : ACR[level];
}

/** The latest time any method was done: the session's auth_time (OIDC Core §2). */
export const lastAuthTime = (m: AuthMethods): number =>
  Math.max(0, ...Object.values(m).filter((v): v is number => typeof v === 'number'));

export interface PolicyInput {
  /** The application's policy with the server's default applied. */
  mfa: MfaPolicy;
  /** OIDC Core §3.1.2.1 `acr_values`, in order of preference. */
  acrValues: string[];
  methods: AuthMethods;
  factors: FactorSummary;
  /** An administrator asked for a factor at the next sign-in. */
  enrolRequired: boolean;
  /** LATCHKEY_PASSKEY_ENROLMENT: offer (or require) a passkey after a password sign-in. */
  passkeyEnrolment: 'off' | 'suggest' | 'require';
  /** The person skipped the suggestion in this interaction. */
  suggestionSkipped: boolean;
  /** Whether this server can offer passkeys at all (an issuer on an IP address cannot); default yes. */
  passkeysAvailable?: boolean;
}

export type Step =
  /** A first factor: a password or a passkey. */
  | { step: 'first' }
  /** A second factor: one-time code, recovery code or passkey (or only a passkey for `phr`). */
  | { step: 'second'; level: 'mfa' | 'phr' }
  /** Enrol a factor now; `skippable` only for the passkey suggestion. */
  | { step: 'enrol'; kinds: ('totp' | 'passkey')[]; skippable: boolean }
  /** OpenID Connect Unmet Authentication Requirements 1.0: cannot be met for this person. */
  | { step: 'unmet'; reason: string }
  | { step: 'done'; amr: string[]; acr: string | undefined };

/** The level `acr_values` asks for: the first value this person can reach, or unmet. */
function requestedLevel(input: PolicyInput, canEnrol: boolean): Level | 'unmet' | undefined {
  const known = input.acrValues.filter((v): v is string => ACR_VALUES_SUPPORTED.includes(v));
  if (known.length === 0) return undefined;
  for (const v of known) {
    const level = (Object.keys(ACR) as Level[]).find((l) => ACR[l] === v) as Level;
    if (level === 'pwd') return level;
    if (level === 'mfa' && (hasSecondFactor(input.factors) || canEnrol)) return level;
    if (
      level === 'phr' &&
      (input.factors.passkeys > 0 ||
        (canEnrol && !hasAnyFactor(input.factors) && input.passkeysAvailable !== false))
    )
      return level;
  }
  return 'unmet';
}

export function nextStep(raw: PolicyInput): Step {
  // Without passkeys on this server, the person's passkeys cannot be used and none can be added.
  const noPasskeys = raw.passkeysAvailable === false;
  const input: PolicyInput = noPasskeys
    ? { ...raw, factors: { ...raw.factors, passkeys: 0 }, passkeyEnrolment: 'off' }
    : raw;
  const enrolKinds: ('totp' | 'passkey')[] = noPasskeys ? ['totp'] : ['passkey', 'totp'];
  const have = levelOf(input.methods);
  if (have === 'none') return { step: 'first' };
  const anyFactor = hasAnyFactor(input.factors);
  const canEnrol = !anyFactor && (input.mfa !== 'none' || input.enrolRequired);
  const asked = requestedLevel(input, canEnrol);
  if (asked === 'unmet')
    return { step: 'unmet', reason: 'The requested authentication level cannot be met for this person.' };
  let need: Level =
    input.mfa === 'required' ||
    input.enrolRequired ||
    (input.mfa === 'optional' && hasSecondFactor(input.factors))
      ? 'mfa'
      : 'pwd';
  if (asked !== undefined && RANK[asked] > RANK[need]) need = asked;

  if (input.enrolRequired && !anyFactor) return { step: 'enrol', kinds: enrolKinds, skippable: false };
  if (RANK[have] < RANK[need]) {
    if (need === 'phr') {
      if (input.factors.passkeys > 0) return { step: 'second', level: 'phr' };
      if (canEnrol && !noPasskeys) return { step: 'enrol', kinds: ['passkey'], skippable: false };
      return { step: 'unmet', reason: 'A passkey is required and this person has none.' };
    }
    if (hasSecondFactor(input.factors)) return { step: 'second', level: 'mfa' };
    if (canEnrol) return { step: 'enrol', kinds: enrolKinds, skippable: false };
    return { step: 'unmet', reason: 'A second factor is required and this person has none.' };
  }
  // After a password, offer a passkey to someone who has none (LATCHKEY_PASSKEY_ENROLMENT).
  if (
    input.passkeyEnrolment !== 'off' &&
    input.methods.pwd !== undefined &&
    input.factors.passkeys === 0 &&
    !(input.passkeyEnrolment === 'suggest' && input.suggestionSkipped) &&
    (!anyFactor || RANK[have] >= RANK.mfa)
  )
    return { step: 'enrol', kinds: ['passkey'], skippable: input.passkeyEnrolment === 'suggest' };
  return { step: 'done', amr: amrOf(input.methods), acr: acrOf(input.methods) };
}
