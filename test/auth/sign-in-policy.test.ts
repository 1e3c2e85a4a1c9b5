/** The sign-in policy (src/auth/sign-in-policy.ts): levels, RFC 8176 amr, and the next step. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ACR, acrOf, amrOf, levelOf, nextStep, type PolicyInput } from '../../src/auth/sign-in-policy.js';
import type { AuthMethods } from '../../src/storage/types.js';

const T = 1_790_000_000_000;
const none = { passkeys: 0, totp: false, recoveryCodesLeft: 0 };
const totp = { ...none, totp: true };
const passkey = { ...none, passkeys: 1 };
const input = (over: Partial<PolicyInput>): PolicyInput => ({
  mfa: 'optional',
  acrValues: [],
  methods: {},
  factors: none,
  enrolRequired: false,
  passkeyEnrolment: 'off',
  suggestionSkipped: false,
  ...over,
});

describe('levels and amr (RFC 8176)', () => {
  it('a password is pwd; a password and a code, or a password and a passkey, mfa', () => {
    assert.equal(levelOf({ pwd: T }), 'pwd');
    assert.deepEqual(amrOf({ pwd: T }), ['pwd']);
    assert.deepEqual(amrOf({ pwd: T, otp: T }), ['pwd', 'otp', 'mfa']);
    assert.deepEqual(amrOf({ pwd: T, hwk: T }), ['pwd', 'hwk', 'mfa']);
    assert.equal(acrOf({ pwd: T, otp: T }), ACR.mfa);
  });

  it('a passkey that verified the person is phishing-resistant: swk/hwk, user, mfa, no pwd', () => {
    assert.deepEqual(amrOf({ swk: T, uv: T }), ['swk', 'user', 'mfa']);
    assert.deepEqual(amrOf({ hwk: T, uv: T }), ['hwk', 'user', 'mfa']);
    assert.equal(acrOf({ swk: T, uv: T }), ACR.phr);
  });

  it('never mfa for a passkey alone without user verification', () => {
    assert.deepEqual(amrOf({ swk: T }), ['swk']);
    assert.equal(acrOf({ swk: T }), ACR.pwd);
    fc.assert(
      fc.property(
        fc.record({
          pwd: fc.boolean(),
          otp: fc.boolean(),
          hwk: fc.boolean(),
          swk: fc.boolean(),
          uv: fc.boolean(),
        }),
        (flags) => {
          const m: AuthMethods = {};
          for (const [k, on] of Object.entries(flags)) if (on) m[k as keyof AuthMethods] = T;
          const amr = amrOf(m);
          const factors = (m.pwd ? 1 : 0) + (m.otp ? 1 : 0) + (m.hwk || m.swk ? 1 : 0);
          const uvPasskey = (m.hwk || m.swk) && m.uv;
          assert.equal(amr.includes('mfa'), factors >= 2 || Boolean(uvPasskey), JSON.stringify(m));
          assert.equal(amr.includes('pwd'), Boolean(m.pwd));
          assert.equal(amr.includes('user'), Boolean(m.uv));
        },
      ),
    );
  });
});

describe('the next step', () => {
  it('nothing done: a first factor', () => {
    assert.deepEqual(nextStep(input({})), { step: 'first' });
  });

  it('optional: asks for the second factor only of people who have one', () => {
    assert.equal(nextStep(input({ methods: { pwd: T } })).step, 'done');
    assert.deepEqual(nextStep(input({ methods: { pwd: T }, factors: totp })), {
      step: 'second',
      level: 'mfa',
    });
    assert.equal(nextStep(input({ methods: { pwd: T, otp: T }, factors: totp })).step, 'done');
    assert.equal(
      nextStep(input({ methods: { swk: T, uv: T }, factors: passkey })).step,
      'done',
      'a UV passkey is enough',
    );
  });

  it('required: enrolment on the spot only for a person with no factor; recovery codes count as one', () => {
    assert.deepEqual(nextStep(input({ mfa: 'required', methods: { pwd: T } })), {
      step: 'enrol',
      kinds: ['passkey', 'totp'],
      skippable: false,
    });
    assert.deepEqual(
      nextStep(input({ mfa: 'required', methods: { pwd: T }, factors: { ...none, recoveryCodesLeft: 3 } })),
      {
        step: 'second',
        level: 'mfa',
      },
    );
  });

  it('none: a password is enough; acr_values can still ask for more', () => {
    assert.equal(nextStep(input({ mfa: 'none', methods: { pwd: T }, factors: totp })).step, 'done');
    assert.deepEqual(
      nextStep(input({ mfa: 'none', acrValues: [ACR.mfa], methods: { pwd: T }, factors: totp })),
      {
        step: 'second',
        level: 'mfa',
      },
    );
    // mfa none and no factor: enrolment is not offered, so mfa cannot be met.
    assert.equal(nextStep(input({ mfa: 'none', acrValues: [ACR.mfa], methods: { pwd: T } })).step, 'unmet');
  });

  it('acr_values: the first value this person can reach, in order of preference', () => {
    assert.equal(
      nextStep(input({ acrValues: [ACR.phr, ACR.mfa], methods: { pwd: T }, factors: totp })).step,
      'second',
    );
    assert.deepEqual(
      nextStep(input({ acrValues: [ACR.phr], methods: { pwd: T, otp: T }, factors: totp })).step,
      'unmet',
    );
    assert.deepEqual(nextStep(input({ acrValues: [ACR.phr], methods: { pwd: T }, factors: passkey })), {
      step: 'second',
      level: 'phr',
    });
    assert.equal(
      nextStep(input({ acrValues: ['urn:other'], methods: { pwd: T } })).step,
      'done',
      'unknown values are ignored',
    );
  });

  it('an administrator asked for enrolment: even an mfa none application enrols a person with no factor', () => {
    assert.equal(nextStep(input({ mfa: 'none', enrolRequired: true, methods: { pwd: T } })).step, 'enrol');
    assert.deepEqual(nextStep(input({ enrolRequired: true, methods: { pwd: T }, factors: totp })), {
      step: 'second',
      level: 'mfa',
    });
  });

  it('the passkey suggestion after a password: skippable unless required, never before the second factor', () => {
    const suggest = input({ passkeyEnrolment: 'suggest', methods: { pwd: T } });
    assert.deepEqual(nextStep(suggest), { step: 'enrol', kinds: ['passkey'], skippable: true });
    assert.equal(nextStep({ ...suggest, suggestionSkipped: true }).step, 'done');
    assert.deepEqual(
      nextStep(input({ passkeyEnrolment: 'require', methods: { pwd: T }, suggestionSkipped: true })),
      {
        step: 'enrol',
        kinds: ['passkey'],
        skippable: false,
      },
    );
    assert.equal(
      nextStep(input({ passkeyEnrolment: 'suggest', methods: { pwd: T }, factors: totp })).step,
      'second',
    );
    assert.equal(
      nextStep(input({ passkeyEnrolment: 'suggest', methods: { swk: T, uv: T }, factors: passkey })).step,
      'done',
    );
  });
});
