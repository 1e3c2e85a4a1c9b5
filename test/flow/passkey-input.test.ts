/**
 * Bad input to every endpoint that takes the browser's WebAuthn JSON (issue 17), over real HTTP
 * with a software authenticator (helpers/webauthn.ts) and the injected clock:
 * - POST /interaction/:id/passkey before a first step (the passkey is the sign-in),
 * - the same after a password (the passkey as second factor),
 * - POST /interaction/:id/enrol/passkey (enrolment during a sign-in),
 * - POST /account/passkeys (adding one on the account page).
 * Each gets malformed JSON, JSON of the wrong shape, a body over the cap and a large garbled
 * field under it, a credential that is not registered here (or, for a registration, one that is
 * already), a challenge of another ceremony, an expired challenge and a spent one. Each answer is
 * the page again with the reason (400; 413 for an oversized body), never a 500 or a stack trace,
 * and nothing is stored: the passkeys and the interaction are as before, the audit log has no
 * new sign-in or passkey (a response that fails the checks is audited as passkey_failure), and
 * no session cookie is set. The same responses, made right, go through, so each refusal is for
 * the one thing that was wrong.
 *
 * The forms are plain HTML forms: /assets/passkeys.js puts the WebAuthn JSON in the hidden
 * `credential` field and submits the form, so every answer here is a page.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CHALLENGE_TTL_MS } from '../../src/auth/passkeys.js';
import { passwordSteps, signInToAccount, textOf } from '../account/account-helpers.js';
import { Browser, type Step } from '../helpers/browser.js';
import { authorizePath, callback, pkce } from '../helpers/flow.js';
import { createClient, createUser, freePort, startTestServer, type TestServer } from '../helpers/server.js';
import { type CreationOptions, type RequestOptions, SoftAuthenticator } from '../helpers/webauthn.js';

/** A passkey form of a page: where it posts, its CSRF token and the ceremony's options. */
interface Ceremony {
  b: Browser;
  page: Step;
  action: string;
  csrf: string;
  options: CreationOptions & RequestOptions;
}

/** What must not change when a response is refused. */
interface Snapshot {
  passkeys: unknown;
  audit: unknown;
  interaction: unknown;
}

/** What a stack trace, an internal error or a library's own message would look like on a page. */
const LEAK =
  /\bat [\w.<>]+ \(|node_modules|\.[jt]s:\d+|server_error|TypeError|is not a function|undefined|could not complete/;
const SPENT = /This passkey request has expired or was already used\. Try again\./;
const NOT_A_CREDENTIAL = /The passkey response is not a WebAuthn credential\./;
const SUCCESS_EVENTS = [
  'login_success',
  'second_factor_success',
  'passkey_added',
  'recovery_codes_generated',
];

const unescapeAttr = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function ceremonyOf(b: Browser, page: Step): Ceremony {
  assert.equal(page.status < 500, true, page.body.slice(0, 300));
  const tag = /<form[^>]*data-webauthn="[^"]*"[^>]*>/.exec(page.body)?.[0];
  assert.ok(tag, `a passkey form on the page: ${textOf(page.body).slice(0, 300)}`);
  const attr = (name: string) => unescapeAttr(new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1] ?? '');
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf);
  return { b, page, action: attr('action'), csrf, options: JSON.parse(attr('data-options')) };
}

const huge = (bytes: number) => randomBytes(bytes).toString('base64url');

describe('passkey endpoints refuse bad input: a clear page, nothing stored, never a 500', () => {
  let server: TestServer;
  let origin: string;
  let app: { clientId: string; redirectUri: string };
  /** People by name, with the authenticator holding their passkey (if any). */
  const people = new Map<string, { id: string; key: SoftAuthenticator }>();

  before(async () => {
    // WebAuthn's RP ID must be a domain: the issuer is http://localhost:<port> (loopback).
    const port = await freePort();
    origin = `http://localhost:${port}`;
    server = await startTestServer({ port, overrides: { issuer: origin } });
    app = await createClient(server, { consent: 'none' });
    // pia signs in with her passkey, sam uses his as a second factor: both registered here first.
    for (const name of ['pia', 'sam']) {
      const { id } = await createUser(server, name);
      const key = new SoftAuthenticator(origin);
      const user = (await server.ctx.storage.users.getById(id))!;
      const options = await server.ctx.factors.passkeys.registrationOptions(user, 'test-setup');
      await server.ctx.factors.passkeys.register(user, 'test-setup', JSON.stringify(key.create(options)));
      people.set(name, { id, key });
    }
    // eve must set up a factor at her next sign-in (an administrator asked): the enrolment page.
    const eve = await createUser(server, 'eve');
    await server.ctx.storage.users.setMfaEnrolRequired(eve.id, true, server.clock.now());
    people.set('eve', { id: eve.id, key: new SoftAuthenticator(origin) });
    const ann = await createUser(server, 'ann');
    people.set('ann', { id: ann.id, key: new SoftAuthenticator(origin) });
  });
  after(async () => {
    await server?.cleanup();
  });

  const person = (name: string) => people.get(name)!;

  async function snapshot(c: Ceremony): Promise<Snapshot> {
    const passkeys: Record<string, unknown> = {};
    for (const [name, p] of people) passkeys[name] = await server.ctx.storage.factors.passkeysOf(p.id);
    const audit: Record<string, number> = {};
    for (const type of SUCCESS_EVENTS) audit[type] = (await server.ctx.storage.audit.list({ type })).length;
    const id = /^\/interaction\/([^/]+)\//.exec(c.action)?.[1];
    const i = id ? await server.ctx.storage.interactions.get(id) : undefined;
    return {
      passkeys,
      audit,
      interaction: i && { userId: i.userId, authMethods: i.authMethods, completedAt: i.completedAt },
    };
  }

  const post = (c: Ceremony, credential: string | object) =>
    c.b.post(c.action, {
      csrf: c.csrf,
      credential: typeof credential === 'string' ? credential : JSON.stringify(credential),
    });

  /** The answer is a page saying `message`, nothing changed, and no session cookie was set. */
  async function refused(c: Ceremony, r: Step, before: Snapshot, message: RegExp, status = 400) {
    assert.equal(r.status, status, textOf(r.body).slice(0, 400));
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(textOf(r.body), message);
    assert.doesNotMatch(r.body, LEAK);
    assert.equal(
      r.headers.getSetCookie().some((s) => s.startsWith('latchkey_session=')),
      false,
      'no session started',
    );
    assert.deepEqual(await snapshot(c), before, 'nothing stored');
    // A 400 is the same form again, with a new challenge: the person can try again at once.
    if (status === 400) assert.notEqual(ceremonyOf(c.b, r).options.challenge, c.options.challenge);
  }

  // --- the four ceremonies -------------------------------------------------------------------

  async function interactionPage(b: Browser): Promise<Step> {
    const start = await b.get(authorizePath(app, pkce()));
    assert.equal(start.status, 303, start.body.slice(0, 300));
    return b.get(start.location!);
  }

  /** The sign-in page: a passkey sign-in (no username). */
  async function signInCeremony(): Promise<Ceremony> {
    const b = new Browser(server.url);
    return ceremonyOf(b, await interactionPage(b));
  }

  /** After `name`'s password: the second-factor page (sam) or the enrolment page (eve). */
  async function afterPassword(name: string, heading: RegExp): Promise<Ceremony> {
    const b = new Browser(server.url);
    const r = await passwordSteps(server, b, await interactionPage(b), name);
    assert.equal(r.status, 303, textOf(r.body).slice(0, 300));
    const page = await b.get(r.location!);
    assert.match(textOf(page.body), heading);
    return ceremonyOf(b, page);
  }
  const secondFactorCeremony = () => afterPassword('sam', /Verify it's you/);
  const enrolCeremony = () => afterPassword('eve', /Protect your account/);

  /** The account page's "Add a passkey" page, signed in as ann on a new device. */
  async function accountCeremony(): Promise<Ceremony> {
    const { b } = await signInToAccount(server, 'ann');
    return ceremonyOf(b, await b.get('/account/passkeys/new'));
  }

  // --- responses -----------------------------------------------------------------------------

  /** A good assertion of `name`'s passkey for the ceremony, changed by `opts`. */
  const assertion = (c: Ceremony, name: string, opts: Parameters<SoftAuthenticator['get']>[1] = {}) =>
    person(name).key.get(c.options, opts);

  /** A good registration for the ceremony (a new credential of `name`'s authenticator). */
  const registration = (c: Ceremony, name: string, opts: Parameters<SoftAuthenticator['create']>[1] = {}) =>
    person(name).key.create(c.options, opts);

  // --- what every endpoint gets ----------------------------------------------------------------

  /**
   * The cases that do not depend on the ceremony's kind. `good` makes the right response for a
   * ceremony, with clientDataJSON overrides; `field` is the response's largest field.
   */
  function commonCases(
    make: () => Promise<Ceremony>,
    good: (c: Ceremony, clientData?: Record<string, unknown>) => Record<string, unknown>,
    field: 'attestationObject' | 'signature',
    garbled: RegExp,
  ) {
    /**
     * After refusals that must leave the page's challenge alone, the good response for it goes
     * through. Only for assertions: a registration that went through would change the person's
     * next steps (the later cases want them without a passkey).
     */
    const stillLive = async (c: Ceremony) => {
      if (field !== 'signature') return;
      const r = await post(c, good(c));
      assert.equal(r.status, 303, textOf(r.body).slice(0, 300));
    };
    it('no response, malformed JSON and JSON of the wrong shape', async () => {
      const c = await make();
      const before = await snapshot(c);
      await refused(c, await post(c, ''), before, /No passkey response was sent\./);
      for (const bad of ['{"id": "abc", ', '{', '\u0000', 'not json at all'])
        await refused(c, await post(c, bad), before, /The passkey response could not be read\./);
      const ok = good(c);
      const response = ok.response as Record<string, unknown>;
      const shapes: unknown[] = [
        null,
        [],
        'a string',
        42,
        {},
        { id: 'abc' },
        { ...ok, type: 'password' },
        { ...ok, id: 'not base64url!' },
        { ...ok, rawId: 7 },
        { ...ok, response: 'text' },
        { ...ok, response: [] },
        { ...ok, response: { ...response, clientDataJSON: '' } },
        { ...ok, response: { ...response, clientDataJSON: { challenge: c.options.challenge } } },
        { ...ok, response: { ...response, [field]: null } },
        // clientDataJSON that is not JSON, or JSON with no usable challenge.
        { ...ok, response: { ...response, clientDataJSON: Buffer.from('<xml/>').toString('base64url') } },
        { ...ok, response: { ...response, clientDataJSON: Buffer.from('null').toString('base64url') } },
        {
          ...ok,
          response: {
            ...response,
            clientDataJSON: Buffer.from('{"challenge":["x"]}').toString('base64url'),
          },
        },
      ];
      for (const shape of shapes)
        await refused(c, await post(c, JSON.stringify(shape)), before, NOT_A_CREDENTIAL);
      // The live challenge was not spent by any of these.
      await stillLive(c);
    });

    it('the credential field sent twice', async () => {
      const c = await make();
      const before = await snapshot(c);
      const one = JSON.stringify(good(c));
      const body = new URLSearchParams([
        ['csrf', c.csrf],
        ['credential', one],
        ['credential', one],
      ]);
      const res = await fetch(server.url + c.action, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie: c.b.cookieHeader(),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'text/html',
        },
        body: body.toString(),
      });
      const r: Step = { status: res.status, location: null, body: await res.text(), headers: res.headers };
      await refused(c, r, before, NOT_A_CREDENTIAL);
    });

    it(`a body over the cap (a 1 MiB ${field}): 413 and a page that says so`, async () => {
      const c = await make();
      const before = await snapshot(c);
      const ok = good(c);
      const big = { ...ok, response: { ...(ok.response as object), [field]: huge(1024 * 1024) } };
      await refused(c, await post(c, big), before, /The request body is too large\./, 413);
      // The page's challenge is still good (the request was refused unread).
      await stillLive(c);
    });

    it(`a large garbled ${field} under the cap: refused by the checks, with the page again`, async () => {
      const c = await make();
      const before = await snapshot(c);
      const ok = good(c);
      // 30 KiB of random bytes: far more than any authenticator sends, less than the body limit.
      const garbage = { ...ok, response: { ...(ok.response as object), [field]: huge(30 * 1024) } };
      const failures = async () => (await server.ctx.storage.audit.list({ type: 'passkey_failure' })).length;
      const audited = await failures();
      await refused(c, await post(c, garbage), before, garbled);
      // The checks' own reason is not on the page; it is in the audit log.
      assert.equal(await failures(), audited + 1);
    });

    it('a challenge of another ceremony (another page), and one this server never made', async () => {
      const c = await make();
      const other = await make();
      const before = await snapshot(c);
      await refused(c, await post(c, good(c, { challenge: other.options.challenge })), before, SPENT);
      await refused(c, await post(c, good(c, { challenge: huge(32) })), before, SPENT);
    });

    it('a spent challenge: a response refused once cannot be sent again, fixed or not', async () => {
      const c = await make();
      const before = await snapshot(c);
      // The right challenge, signed for another origin: the checks refuse it, and the challenge is spent.
      await refused(c, await post(c, good(c, { origin: 'https://evil.example' })), before, garbled);
      await refused(c, await post(c, good(c)), before, SPENT);
    });
  }

  const garbledAssertion = /The passkey could not be verified\. Try again\./;
  const garbledRegistration = /The passkey could not be registered\. Try again\./;

  describe('passkey sign-in (POST /interaction/:id/passkey, no one signed in yet)', () => {
    commonCases(
      signInCeremony,
      (c, clientData) => assertion(c, 'pia', clientData ? { clientData } : {}),
      'signature',
      garbledAssertion,
    );

    it('a passkey that is not registered here', async () => {
      const c = await signInCeremony();
      const before = await snapshot(c);
      const stranger = new SoftAuthenticator(origin);
      stranger.create({ challenge: huge(32), rp: {}, user: { id: huge(8) } });
      await refused(
        c,
        await post(c, stranger.get(c.options)),
        before,
        /This passkey is not registered here\./,
      );
    });

    it('an expired challenge (the clock moved past its five minutes)', async () => {
      const c = await signInCeremony();
      const before = await snapshot(c);
      server.clock.advance(CHALLENGE_TTL_MS + 1000);
      const r = await post(c, assertion(c, 'pia'));
      await refused(c, r, before, SPENT);
      // The page shown with the error has a live challenge: the same passkey signs in with it.
      const again = await post(ceremonyOf(c.b, r), assertion(ceremonyOf(c.b, r), 'pia'));
      assert.equal(again.status, 303, textOf(again.body).slice(0, 300));
    });

    it('without user verification: refused (a passkey alone must verify the person), and audited', async () => {
      const c = await signInCeremony();
      const before = await snapshot(c);
      await refused(c, await post(c, assertion(c, 'pia', { uv: false })), before, /did not verify you/);
      const failures = await server.ctx.storage.audit.list({
        type: 'passkey_failure',
        userId: person('pia').id,
      });
      assert.ok(failures.some((e) => /user verification/i.test(JSON.stringify(e.detail))));
    });

    it('the good response signs in: a code for the application, a session, the passkey used', async () => {
      const c = await signInCeremony();
      const r = await post(c, assertion(c, 'pia'));
      assert.equal(r.status, 303, textOf(r.body).slice(0, 300));
      assert.ok(callback(r.location).searchParams.get('code'));
      assert.ok(c.b.cookies.has('latchkey_session'));
      const [stored] = await server.ctx.storage.factors.passkeysOf(person('pia').id);
      assert.ok(stored?.lastUsedAt);
      // The same response again, in a new sign-in: its challenge is spent (and of another page).
      const next = await signInCeremony();
      await refused(next, await post(next, assertion(c, 'pia')), await snapshot(next), SPENT);
    });
  });

  describe('a passkey as second factor (POST /interaction/:id/passkey after the password)', () => {
    commonCases(
      secondFactorCeremony,
      (c, clientData) => assertion(c, 'sam', clientData ? { clientData } : {}),
      'signature',
      garbledAssertion,
    );

    it("a passkey not registered here, and another person's passkey", async () => {
      const c = await secondFactorCeremony();
      const before = await snapshot(c);
      const stranger = new SoftAuthenticator(origin);
      stranger.create({ challenge: huge(32), rp: {}, user: { id: huge(8) } });
      await refused(
        c,
        await post(c, stranger.get(c.options)),
        before,
        /This passkey is not registered here\./,
      );
      // pia's passkey on sam's page: refused before it is checked, her passkey not even touched.
      const other = await secondFactorCeremony();
      const otherBefore = await snapshot(other);
      await refused(other, await post(other, assertion(other, 'pia')), otherBefore, /not registered here/);
    });

    it("another person's passkey with the sign-in page's challenge of the same interaction", async () => {
      // That challenge (made before anyone was known) takes any passkey: the person of the
      // interaction still decides, before the assertion is checked and the passkey marked used.
      const b = new Browser(server.url);
      const signInPage = ceremonyOf(b, await interactionPage(b));
      const r = await passwordSteps(server, b, signInPage.page, 'sam');
      const c = ceremonyOf(b, await b.get(r.location!));
      const before = await snapshot(c);
      await refused(c, await post(c, assertion(signInPage, 'pia')), before, /belongs to another account/);
      // sam's own passkey with that challenge is sam's second step.
      const own = await post(c, assertion(c, 'sam'));
      assert.equal(own.status, 303, textOf(own.body).slice(0, 300));
    });

    it('an expired challenge', async () => {
      const c = await secondFactorCeremony();
      const before = await snapshot(c);
      server.clock.advance(CHALLENGE_TTL_MS + 1000);
      const r = await post(c, assertion(c, 'sam'));
      await refused(c, r, before, SPENT);
      const again = await post(ceremonyOf(c.b, r), assertion(ceremonyOf(c.b, r), 'sam'));
      assert.equal(again.status, 303, textOf(again.body).slice(0, 300));
    });

    it('the good response finishes the sign-in with two factors', async () => {
      const c = await secondFactorCeremony();
      const before = (await server.ctx.storage.audit.list({ type: 'second_factor_success' })).length;
      const r = await post(c, assertion(c, 'sam'));
      assert.equal(r.status, 303, textOf(r.body).slice(0, 300));
      assert.ok(callback(r.location).searchParams.get('code'));
      assert.ok(c.b.cookies.has('latchkey_session'));
      assert.equal(
        (await server.ctx.storage.audit.list({ type: 'second_factor_success' })).length,
        before + 1,
      );
    });
  });

  describe('enrolment during the sign-in (POST /interaction/:id/enrol/passkey)', () => {
    commonCases(
      enrolCeremony,
      (c, clientData) => registration(c, 'eve', clientData ? { clientData } : {}),
      'attestationObject',
      garbledRegistration,
    );

    it("a passkey registered already (another person's credential id)", async () => {
      const c = await enrolCeremony();
      const before = await snapshot(c);
      const [pias] = await server.ctx.storage.factors.passkeysOf(person('pia').id);
      const copy = registration(c, 'eve', { id: pias!.credentialId });
      await refused(c, await post(c, copy), before, /This passkey is registered already\./);
    });

    it("the sign-in page's challenge of the same interaction (a sign-in's, not a registration's)", async () => {
      const b = new Browser(server.url);
      const signInPage = ceremonyOf(b, await interactionPage(b));
      const r = await passwordSteps(server, b, signInPage.page, 'eve');
      const c = ceremonyOf(b, await b.get(r.location!));
      const before = await snapshot(c);
      const response = registration(c, 'eve', { clientData: { challenge: signInPage.options.challenge } });
      await refused(c, await post(c, response), before, SPENT);
    });

    it('an expired challenge', async () => {
      const c = await enrolCeremony();
      const before = await snapshot(c);
      server.clock.advance(CHALLENGE_TTL_MS + 1000);
      await refused(c, await post(c, registration(c, 'eve')), before, SPENT);
    });

    it('the good response adds the passkey (transports that are no list are left out)', async () => {
      const c = await enrolCeremony();
      const r = await post(c, registration(c, 'eve', { transports: { length: 1 } }));
      assert.equal(r.status, 200, textOf(r.body).slice(0, 300));
      assert.match(textOf(r.body), /Save your recovery codes/);
      const stored = await server.ctx.storage.factors.passkeysOf(person('eve').id);
      assert.equal(stored.length, 1);
      assert.ok(person('eve').key.credentials.has(stored[0]!.credentialId));
      assert.deepEqual(stored[0]!.transports, []);
    });
  });

  describe('adding a passkey on the account page (POST /account/passkeys)', () => {
    commonCases(
      accountCeremony,
      (c, clientData) => registration(c, 'ann', clientData ? { clientData } : {}),
      'attestationObject',
      garbledRegistration,
    );

    it("a passkey registered already (another person's credential id)", async () => {
      const c = await accountCeremony();
      const before = await snapshot(c);
      const [sams] = await server.ctx.storage.factors.passkeysOf(person('sam').id);
      const copy = registration(c, 'ann', { id: sams!.credentialId });
      await refused(c, await post(c, copy), before, /This passkey is registered already\./);
    });

    it('an expired challenge: first a new sign-in (a change wants a recent one), then refused', async () => {
      const c = await accountCeremony();
      const before = await snapshot(c);
      const response = registration(c, 'ann');
      server.clock.advance(CHALLENGE_TTL_MS + 1000);
      // The sign-in is as old as the challenge: nothing is changed, the person signs in again.
      const stale = await post(c, response);
      assert.equal(stale.status, 303);
      assert.match(stale.location ?? '', /^\/interaction\//);
      assert.deepEqual(await snapshot(c), before);
      const done = await passwordSteps(server, c.b, await c.b.get(stale.location!), 'ann');
      assert.equal(done.location, '/account');
      // Signed in again (that sign-in is in the audit log): the old page's response is refused,
      // its challenge past its time (and bound to the session before).
      const again = await snapshot(c);
      assert.deepEqual(again.passkeys, before.passkeys);
      const csrf = ceremonyOf(c.b, await c.b.get('/account/passkeys/new')).csrf;
      await refused(c, await post({ ...c, csrf }, response), again, SPENT);
    });

    it('the good response adds the passkey: a 1023-byte credential id, known transports kept', async () => {
      const c = await accountCeremony();
      const response = registration(c, 'ann', { idLength: 1023, transports: ['usb', 'nonsense', 7, 'nfc'] });
      assert.ok(JSON.stringify(response).length > 4096, 'more than a form field usually holds');
      const r = await post(c, response);
      assert.equal(r.status, 200, textOf(r.body).slice(0, 300));
      assert.match(textOf(r.body), /Save your recovery codes/);
      const stored = await server.ctx.storage.factors.passkeysOf(person('ann').id);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.credentialId, response.id);
      assert.deepEqual(stored[0]!.transports, ['usb', 'nfc']);
      const added = await server.ctx.storage.audit.list({ type: 'passkey_added', userId: person('ann').id });
      assert.equal(added.length, 1);
    });
  });
});
