/**
 * The admin console's user page with the person's factors (Remove), "Require a factor at next
 * sign-in" and "Sign out everywhere", and the MFA select of the application forms — through the
 * real HTML forms with their CSRF tokens, over real HTTP.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Browser, formOf } from '../helpers/browser.js';
import { getCode, obtainTokens, pkce, refresh, withServer } from '../helpers/flow.js';
import { createUser, PASSWORD } from '../helpers/server.js';
import { addFactors, type MadeFactors } from './factors-fixture.js';

const T0 = Date.parse('2026-12-01T08:00:00.000Z');

/** The rows of the factors table: [type, name, created, last used]. */
function factorRows(html: string): string[][] {
  const table = /<table id="factors">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<tr data-factor-id="[^"]+">([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td>([\s\S]*?)<\/td>/g)].slice(0, 4).map((c) => c[1]!),
  );
}

describe('admin console: factors, require enrolment, sign out everywhere, application MFA', () => {
  const s = withServer({ users: ['alice'], app: {}, discover: true });
  let admin: Browser;
  let csrf: string;
  let made: MadeFactors;

  before(async () => {
    await s.server.ctx.users.create({ username: 'root', password: PASSWORD, isAdmin: true });
    admin = new Browser(s.server.url);
    const login = await admin.get('/admin/login');
    const r = await admin.post('/admin/login', {
      csrf: formOf(login.body).csrf,
      username: 'root',
      password: PASSWORD,
    });
    assert.equal(r.status, 303);
    csrf = formOf((await admin.get('/admin')).body).csrf;
    made = await addFactors(s.server.ctx.storage.factors, s.user.id, T0);
  });

  it("the user's page lists the factors with a Remove form each, and the two actions", async () => {
    const page = await admin.get(`/admin/users/${s.user.id}`);
    assert.equal(page.status, 200);
    assert.deepEqual(factorRows(page.body), [
      ['Passkey', 'MacBook Touch ID', '2026-12-01 08:00:00Z', 'Never'],
      ['Authenticator app (TOTP)', 'Authenticator app', '2026-12-01 08:00:01Z', '2026-12-01 08:01:00Z'],
      ['Recovery codes', 'Recovery codes (7 of 10 left)', '2026-12-01 08:00:03Z', '2026-12-01 08:01:00Z'],
    ]);
    const { actions } = formOf(page.body);
    const base = `/admin/users/${s.user.id}`;
    for (const id of [made.passkeyId, made.totpId, made.recoveryId])
      assert.ok(actions.includes(`${base}/factors/${id}/remove`), id);
    assert.ok(!actions.some((a) => a.includes(made.pendingTotpId)), 'pending TOTP factors are not shown');
    assert.ok(actions.includes(`${base}/require-enrolment`));
    assert.ok(actions.includes(`${base}/logout`));
    assert.match(page.body, /Require a factor at next sign-in/);
    assert.match(page.body, /Sign out everywhere/);
    assert.match(page.body, /<dd id="mfa-enrolment">Not asked<\/dd>/);
    assert.match(page.body, /<dd id="open-sessions">0<\/dd>/);
  });

  it('Remove: needs the CSRF token, removes the factor, audits it; a stale form gets 404', async () => {
    const url = `/admin/users/${s.user.id}/factors/${made.passkeyId}/remove`;
    const forged = await admin.post(url, { csrf: 'forged' });
    assert.equal(forged.status, 403);
    assert.equal((await s.server.ctx.storage.factors.passkeysOf(s.user.id)).length, 1);
    const r = await admin.post(url, { csrf });
    assert.equal(r.status, 303);
    assert.equal(r.location, `/admin/users/${s.user.id}?done=factor-removed`);
    const page = await admin.get(r.location!);
    assert.match(page.body, /Factor removed\./);
    assert.deepEqual(
      factorRows(page.body).map((row) => row[0]),
      ['Authenticator app (TOTP)', 'Recovery codes'],
    );
    const stale = await admin.post(url, { csrf });
    assert.equal(stale.status, 404);
    assert.match(stale.body, /This factor is not there any more/);
    assert.equal(
      (await admin.post(`/admin/users/nobody/factors/${made.totpId}/remove`, { csrf })).status,
      404,
    );
    const [event] = await s.server.ctx.audit.list({ type: 'user_factor_removed', userId: s.user.id });
    assert.deepEqual(event?.detail, {
      via: 'console',
      admin: 'root',
      type: 'passkey',
      id: made.passkeyId,
      name: 'MacBook Touch ID',
    });
    for (const id of [made.totpId, made.recoveryId])
      assert.equal(
        (await admin.post(`/admin/users/${s.user.id}/factors/${id}/remove`, { csrf })).status,
        303,
      );
    const empty = await admin.get(`/admin/users/${s.user.id}`);
    assert.match(empty.body, /id="no-factors"/);
  });

  it('Require a factor at next sign-in sets the flag, shows it, and is audited', async () => {
    const bob = await createUser(s.server, 'bob');
    assert.equal((await admin.post(`/admin/users/${bob.id}/require-enrolment`, {})).status, 403);
    const r = await admin.post(`/admin/users/${bob.id}/require-enrolment`, { csrf });
    assert.equal(r.status, 303);
    const page = await admin.get(r.location!);
    assert.match(page.body, /A second factor will be asked for at their next sign-in\./);
    assert.match(page.body, /<dd id="mfa-enrolment">Required \(asked by an administrator\)<\/dd>/);
    assert.equal((await s.server.ctx.storage.users.getById(bob.id))?.mfaEnrolRequired, true);
    const [event] = await s.server.ctx.audit.list({ type: 'user_mfa_enrolment_required', userId: bob.id });
    assert.deepEqual(event?.detail, { via: 'console', admin: 'root' });
  });

  it('Sign out everywhere ends the sessions and kills the refresh tokens; the user stays active', async () => {
    const carol = await createUser(s.server, 'carol');
    const { tokens, browser } = await obtainTokens(s.server, s.as, s.app, { username: 'carol' });
    const before = await admin.get(`/admin/users/${carol.id}`);
    assert.match(before.body, /<dd id="open-sessions">1<\/dd>/);
    const r = await admin.post(`/admin/users/${carol.id}/logout`, { csrf });
    assert.equal(r.status, 303);
    const page = await admin.get(r.location!);
    assert.match(page.body, /Signed out everywhere/);
    assert.match(page.body, /<dd id="open-sessions">0<\/dd>/);
    assert.match(page.body, /<dd id="user-status">Active<\/dd>/);
    assert.equal((await refresh(s.server, s.app, tokens.refresh_token!)).json['error'], 'invalid_grant');
    await getCode(s.server, s.app, pkce(), {}, { browser, username: 'carol' });
    const [event] = await s.server.ctx.audit.list({ type: 'user_logged_out', userId: carol.id });
    assert.deepEqual(event?.detail, { via: 'console', admin: 'root', sessions: 1, grants: 1 });
  });

  it('the application forms have the MFA select: inherit by default, each value saved, inherit clears', async () => {
    const form = await admin.get('/admin/applications/new');
    assert.match(form.body, /<select id="mfa" name="mfa">/);
    assert.match(
      form.body,
      /<option value="inherit" selected>Inherit server default \(LATCHKEY_MFA: optional\)/,
    );
    const created = await admin.post('/admin/applications', {
      csrf,
      type: 'native',
      name: 'Console MFA app',
      redirect_uris: 'http://127.0.0.1/callback',
      post_logout_redirect_uris: '',
      consent: 'none',
      mfa: 'required',
    });
    assert.equal(created.status, 201, created.body.slice(0, 300));
    const clientId = /<code id="client-id">([^<]+)<\/code>/.exec(created.body)![1]!;
    assert.equal((await s.server.ctx.storage.clients.get(clientId))?.mfa, 'required');

    const settings = `/admin/applications/${clientId}`;
    const page = await admin.get(settings);
    assert.match(page.body, /<option value="required" selected>Required/);
    for (const value of ['none', 'optional', 'inherit', 'required'] as const) {
      const r = await admin.post(settings, { csrf, mfa: value });
      assert.equal(r.status, 303, `${value}: ${r.status}`);
      const stored = await s.server.ctx.storage.clients.get(clientId);
      assert.equal(stored?.mfa, value === 'inherit' ? undefined : value, value);
    }
    const bad = await admin.post(settings, { csrf, mfa: 'always' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /MFA must be none, optional, required or inherit/);
    const plain = await admin.post('/admin/applications', {
      csrf,
      type: 'native',
      name: 'Inherits',
      redirect_uris: 'http://127.0.0.1/callback',
      consent: 'none',
      mfa: 'inherit',
    });
    assert.equal(plain.status, 201);
    const plainId = /<code id="client-id">([^<]+)<\/code>/.exec(plain.body)![1]!;
    assert.equal((await s.server.ctx.storage.clients.get(plainId))?.mfa, undefined);
    const [event] = await s.server.ctx.audit.list({ type: 'client_updated', clientId });
    assert.deepEqual(event?.detail?.['fields'], ['mfa']);
  });
});
