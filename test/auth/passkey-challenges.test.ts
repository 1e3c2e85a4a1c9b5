/**
 * The challenge in a passkey ceremony's options is the one stored for it: the browser signs the
 * options' `challenge` and sends it back in clientDataJSON, where the service looks it up.
 * (@simplewebauthn/server encodes a string challenge's UTF-8 bytes, which made the two differ.)
 * And what a registration stores of the response's hints.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PasskeyService } from '../../src/auth/passkeys.js';
import { ManualClock } from '../../src/clock.js';
import { openMemoryStorage } from '../../src/storage/memory/index.js';
import type { User } from '../../src/storage/types.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

describe('passkey challenges', () => {
  const storage = openMemoryStorage();
  const clock = new ManualClock();
  const service = new PasskeyService({
    factors: storage.factors,
    challenges: storage.webauthnChallenges,
    clock,
    audit: { record: async () => {} },
    users: storage.users,
    issuer: 'https://login.example.com',
  });
  const user: User = {
    id: 'u1',
    username: 'alice',
    email: null,
    name: null,
    passwordHash: 'x',
    disabled: false,
    createdAt: 0,
    updatedAt: 0,
  };

  it('registration: the options carry the stored challenge, bound to what asked for it', async () => {
    const options = await service.registrationOptions(user, 'session-hash');
    assert.equal(options.rp.id, 'login.example.com');
    const now = clock.now();
    assert.equal(
      await storage.webauthnChallenges.consume(options.challenge, 'register', 'other', now),
      undefined,
    );
    const stored = await storage.webauthnChallenges.consume(
      options.challenge,
      'register',
      'session-hash',
      now,
    );
    assert.equal(stored?.userId, 'u1');
  });

  it("registration: the response's transports are hints, and only known names are kept", async () => {
    // The library passes `transports` through unchecked: a number made a TypeError (a 500), a
    // string was stored as it was and sent back in the next ceremony's excludeCredentials.
    const key = new SoftAuthenticator('https://login.example.com');
    const kept: unknown[] = [];
    for (const transports of [5, 'usb', { length: 1 }, ['usb', 'usb', 'warp', 1, 'hybrid']]) {
      const options = await service.registrationOptions(user, 'session-hash');
      const p = await service.register(
        user,
        'session-hash',
        JSON.stringify(key.create(options, { transports })),
      );
      kept.push(p.transports);
    }
    assert.deepEqual(kept, [[], [], [], ['usb', 'hybrid']]);
    const next = await service.registrationOptions(user, 'session-hash');
    assert.equal(next.excludeCredentials?.length, 4);
    for (const c of next.excludeCredentials ?? []) assert.ok(Array.isArray(c.transports));
  });

  it('sign-in: the same for an assertion', async () => {
    const options = await service.signInOptions('interaction-id');
    const stored = await storage.webauthnChallenges.consume(
      options.challenge,
      'sign-in',
      'interaction-id',
      clock.now(),
    );
    assert.ok(stored);
    assert.equal(stored.userId, null);
  });
});
