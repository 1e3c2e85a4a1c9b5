/**
 * Second factors in the sign-in flow over real HTTP, with the injected clock: the MFA policy
 * (LATCHKEY_MFA and per application), one-time codes (RFC 6238) and recovery codes, enrolment on
 * the spot, step-up with acr_values on an existing session, unmet requirements, and the amr/acr
 * the tokens carry (RFC 8176, OIDC Core §2, RFC 9068 §2.2.1).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { totpCodeAt } from '../../src/auth/totp.js';
import type { MfaPolicy } from '../../src/storage/types.js';
import { Browser, formOf, type Step } from '../helpers/browser.js';
import { authorizePath, callback, pkce, redeem, withServer } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, type TestServer } from '../helpers/server.js';

const ACR_MFA = 'urn:latchkey:acr:mfa';
const ACR_PHR = 'urn:latchkey:acr:phr';

type App = { clientId: string; redirectUri: string };

describe('second factors in the sign-in', () => {
  const s = withServer({ users: ['alice'], app: { consent: 'none' } });
  let server: TestServer;
  /** Applications by MFA policy. */
  const apps = {} as Record<MfaPolicy, App>;

  before(async () => {
    server = s.server;
    for (const mfa of ['none', 'optional', 'required'] as const) {
      const a = await createClient(server, { consent: 'none', name: `MFA ${mfa}` });
      await server.ctx.storage.clients.update(a.clientId, { mfa });
      apps[mfa] = a;
    }
  });

  /** A person with a confirmed authenticator app; returns its secret. */
  async function withTotp(username: string): Promise<string> {
    const user = (await server.ctx.storage.users.getByUsername(username))!;
    const e = await server.ctx.factors.totp.startEnrolment(user);
    // The enrolment's first code confirms it (one step back, so the sign-in's code is a new step).
    server.clock.advanceSeconds(-30);
    const ok = await server.ctx.factors.totp.confirm(
      user,
      e.factor.id,
      totpCodeAt(e.secret, server.clock.now()),
      '127.0.0.1',
    );
    server.clock.advanceSeconds(30);
    assert.equal(ok.outcome, 'ok');
    return e.secret;
  }

  const newPerson = async (name: string) => {
    await createUser(server, name);
    return name;
  };

  /** Posts the password on a sign-in page; returns the page that follows (or the redirect to the client). */
  async function password(b: Browser, page: Step, username: string): Promise<Step> {
    assert.match(page.body, /name="password"/);
    const { csrf, actions } = formOf(page.body);
    const r = await b.post(actions.find((a) => a.endsWith('/login'))!, {
      csrf,
      username,
      password: PASSWORD,
    });
    return follow(b, r);
  }

  /** After a POST: the next interaction page, or the redirect to the client as it is. */
  async function follow(b: Browser, r: Step): Promise<Step> {
    if (r.status === 303 && r.location?.startsWith('/interaction/')) return b.get(r.location);
    return r;
  }

  async function post(b: Browser, page: Step, suffix: string, fields: Record<string, string>): Promise<Step> {
    const { csrf, actions } = formOf(page.body);
    const action = actions.find((a) => a.endsWith(suffix));
    assert.ok(action, `a form posting to …${suffix}: ${actions.join(', ')}`);
    return follow(b, await b.post(action, { csrf, ...fields }));
  }

  function codeOf(r: Step): string {
    assert.equal(r.status, 303, r.body.slice(0, 300));
    const code = callback(r.location).searchParams.get('code');
    assert.ok(code, r.location ?? '');
    return code;
  }

  /** Tokens for a flow that reached the client; the claims of both. */
  async function tokensOf(r: Step, app: App, verifier?: string) {
    const url = callback(r.location);
    const code = url.searchParams.get('code')!;
    const res = await redeem(server, app, code, verifier ?? lastVerifier);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return { id: decodeJwt(String(res.json.id_token)), access: decodeJwt(String(res.json.access_token)) };
  }
  let lastVerifier = '';
  /** start() with a PKCE pair kept for tokensOf. */
  async function begin(b: Browser, app: App, extra: Record<string, string> = {}): Promise<Step> {
    const p = pkce();
    lastVerifier = p.verifier;
    const step = await b.get(authorizePath(app, p, extra));
    assert.equal(step.status, 303, step.body.slice(0, 300));
    if (!step.location?.startsWith('/interaction/')) return step;
    return b.get(step.location);
  }

  it('optional (the default): a person with an authenticator app gives a code after the password', async () => {
    const name = await newPerson('olga');
    const secret = await withTotp(name);
    const b = new Browser(server.url);
    const factor = await password(b, await begin(b, s.app), name);
    assert.equal(factor.status, 200);
    assert.match(factor.body, /Code from your authenticator app/);
    assert.equal(b.cookies.has('latchkey_session'), false, 'no session before the second factor');

    const wrong = await post(b, factor, '/otp', {
      code: '000000' === totpCodeAt(secret, server.clock.now()) ? '111111' : '000000',
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /That code is not right/);
    assert.equal(b.cookies.has('latchkey_session'), false);

    const done = await post(b, wrong, '/otp', { code: totpCodeAt(secret, server.clock.now()) });
    const { id, access } = await tokensOf(done, s.app);
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(id.acr, ACR_MFA);
    assert.equal(access.acr, ACR_MFA);
    assert.equal(access.auth_time, id.auth_time);
    assert.ok(b.cookies.has('latchkey_session'));
  });

  it('a code is used once: the same step is refused in the next sign-in, the next step works', async () => {
    const name = await newPerson('otto');
    const secret = await withTotp(name);
    const code = totpCodeAt(secret, server.clock.now());
    const first = new Browser(server.url);
    codeOf(await post(first, await password(first, await begin(first, s.app), name), '/otp', { code }));

    const second = new Browser(server.url);
    const page = await password(second, await begin(second, s.app), name);
    const replay = await post(second, page, '/otp', { code });
    assert.equal(replay.status, 401, 'the same code again');
    server.clock.advanceSeconds(30);
    codeOf(await post(second, replay, '/otp', { code: totpCodeAt(secret, server.clock.now()) }));
  });

  it('none: an application with mfa none asks for the password only', async () => {
    const name = await newPerson('nina');
    await withTotp(name);
    const b = new Browser(server.url);
    const r = await password(b, await begin(b, apps.none), name);
    const { id } = await tokensOf(r, apps.none);
    assert.deepEqual(id.amr, ['pwd']);
    assert.equal(id.acr, 'urn:latchkey:acr:pwd');
  });

  it('required: a person with no factor enrols on the spot, gets recovery codes once, then the code', async () => {
    const name = await newPerson('rita');
    const b = new Browser(server.url);
    const enrol = await password(b, await begin(b, apps.required), name);
    assert.equal(enrol.status, 200);
    assert.match(enrol.body, /Protect your account/);
    assert.doesNotMatch(enrol.body, /Not now/, 'required: no skipping');
    assert.equal(b.cookies.has('latchkey_session'), false);

    const setup = await post(b, enrol, '/enrol/totp', {});
    assert.equal(setup.status, 200);
    assert.match(setup.body, /<svg[^>]*role="img"/, 'a QR code drawn by the server');
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(setup.body)?.[1]?.replace(/ /g, '');
    assert.ok(secret, 'the secret as text');
    const factor = /name="factor" value="([^"]+)"/.exec(setup.body)?.[1];
    assert.ok(factor);

    const bad = await post(b, setup, '/enrol/totp/confirm', { factor, code: '12345' });
    assert.equal(bad.status, 401);
    const codes = await post(b, bad, '/enrol/totp/confirm', {
      factor,
      code: totpCodeAt(secret, server.clock.now()),
    });
    assert.equal(codes.status, 200);
    const shown = [...codes.body.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map(
      (m) => m[1],
    );
    assert.equal(shown.length, 10, 'ten recovery codes');
    const { id } = await tokensOf(await post(b, codes, '/continue', {}), apps.required);
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);

    const user = (await server.ctx.storage.users.getByUsername(name))!;
    assert.deepEqual(await server.ctx.storage.factors.summary(user.id), {
      passkeys: 0,
      totp: true,
      recoveryCodesLeft: 10,
    });
  });

  it('required: the code waits for the second factor even when the consent form is posted directly', async () => {
    const name = await newPerson('ruth');
    await withTotp(name);
    const consentDirectly = async (b: Browser, page: Step) => {
      const { csrf } = formOf(page.body);
      const id = /\/interaction\/([A-Za-z0-9_-]+)\//.exec(page.body)?.[1];
      return { id, r: await b.post(`/interaction/${id}/consent`, { csrf, decision: 'allow' }) };
    };
    // Before any session: the password alone signed nobody in.
    const b = new Browser(server.url);
    const factor = await password(b, await begin(b, apps.required), name);
    assert.match(factor.body, /authenticator app/);
    const partial = await consentDirectly(b, factor);
    assert.equal(partial.r.status, 400);
    assert.ok(!(partial.r.location ?? '').includes('code='));
    // A step-up on a password session: consent is refused until the step is done.
    const c = new Browser(server.url);
    codeOf(await password(c, await begin(c, apps.none), name));
    const up = await begin(c, apps.required);
    assert.match(up.body, /authenticator app/);
    const stepUp = await consentDirectly(c, up);
    assert.equal(stepUp.r.status, 303);
    assert.equal(stepUp.r.location, `/interaction/${stepUp.id}`, 'back to the second factor, no code');
  });

  it('recovery codes: each works once and the page says how many are left', async () => {
    const name = await newPerson('remy');
    await withTotp(name);
    const user = (await server.ctx.storage.users.getByUsername(name))!;
    const { codes } = await server.ctx.factors.recovery.regenerate(user.id);
    const b = new Browser(server.url);
    const factor = await password(b, await begin(b, s.app), name);
    const notice = await post(b, factor, '/recovery', { code: codes[0]!.toUpperCase().replace('-', ' ') });
    assert.equal(notice.status, 200);
    assert.match(notice.body, /You have 9 recovery codes left/);
    codeOf(await post(b, notice, '/continue', {}));

    const again = new Browser(server.url);
    const page = await password(again, await begin(again, s.app), name);
    const reused = await post(again, page, '/recovery', { code: codes[0]! });
    assert.equal(reused.status, 401);
    assert.match(reused.body, /used already/);
    const events = await server.ctx.storage.audit.list({ userId: user.id, limit: 50 });
    assert.ok(events.some((e) => e.type === 'recovery_code_used'));
  });

  it('step-up: acr_values on a password session asks only for the second factor', async () => {
    const name = await newPerson('sara');
    const secret = await withTotp(name);
    const b = new Browser(server.url);
    const first = await tokensOf(await password(b, await begin(b, apps.none), name), apps.none);
    assert.equal(first.id.acr, 'urn:latchkey:acr:pwd');

    server.clock.advanceSeconds(60);
    const up = await begin(b, apps.none, { acr_values: ACR_MFA });
    assert.equal(up.status, 200);
    assert.doesNotMatch(up.body, /name="password"/, 'no password again');
    assert.match(up.body, /authenticator app/);
    const { id } = await tokensOf(
      await post(b, up, '/otp', { code: totpCodeAt(secret, server.clock.now()) }),
      apps.none,
    );
    assert.equal(id.acr, ACR_MFA);
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
    assert.ok(Number(id.auth_time) > Number(first.id.auth_time), 'auth_time moves with the step-up');

    // The session remembers: the same request again needs nothing more.
    const again = await begin(b, apps.none, { acr_values: ACR_MFA });
    codeOf(again);
  });

  it('prompt=none with a step to do: interaction_required; a level no factor can reach: unmet', async () => {
    const name = await newPerson('paul');
    await withTotp(name);
    const b = new Browser(server.url);
    codeOf(await password(b, await begin(b, apps.none), name));
    const none = await b.get(authorizePath(apps.none, pkce(), { acr_values: ACR_MFA, prompt: 'none' }));
    assert.equal(callback(none.location).searchParams.get('error'), 'interaction_required');
    const phr = await b.get(authorizePath(apps.none, pkce(), { acr_values: ACR_PHR }));
    const url = callback(phr.location);
    assert.equal(url.searchParams.get('error'), 'unmet_authentication_requirements');
    assert.equal(url.searchParams.get('iss'), server.issuer);
  });

  it('an administrator asked for enrolment: the next sign-in enrols, even for an mfa none application', async () => {
    const name = await newPerson('ella');
    const user = (await server.ctx.storage.users.getByUsername(name))!;
    await server.ctx.storage.users.setMfaEnrolRequired(user.id, true, server.clock.now());
    const b = new Browser(server.url);
    const enrol = await password(b, await begin(b, apps.none), name);
    assert.match(enrol.body, /Protect your account/);
    const setup = await post(b, enrol, '/enrol/totp', {});
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(setup.body)![1]!.replace(/ /g, '');
    const factor = /name="factor" value="([^"]+)"/.exec(setup.body)![1]!;
    const codes = await post(b, setup, '/enrol/totp/confirm', {
      factor,
      code: totpCodeAt(secret, server.clock.now()),
    });
    codeOf(await post(b, codes, '/continue', {}));
    assert.equal(
      (await server.ctx.storage.users.getById(user.id))?.mfaEnrolRequired,
      undefined,
      'the request is done',
    );
  });

  it('enrolment is refused where the policy does not ask for it (nothing is stored)', async () => {
    const name = await newPerson('tess');
    const b = new Browser(server.url);
    const page = await begin(b, apps.none);
    const { csrf } = formOf(page.body);
    const id = /\/interaction\/([A-Za-z0-9_-]+)\//.exec(page.body)?.[1];
    const r = await b.post(`/interaction/${id}/enrol/totp`, { csrf });
    assert.ok(r.status >= 400 && r.status < 500, `${r.status}`);
    await password(b, page, name).catch(() => undefined);
    const user = (await server.ctx.storage.users.getByUsername(name))!;
    assert.deepEqual(await server.ctx.storage.factors.totpOf(user.id), []);
  });
});
