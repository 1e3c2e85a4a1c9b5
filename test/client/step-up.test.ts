/**
 * Step-up end to end (RFC 9470) over real HTTP: a person with an authenticator app signs in with
 * the password only (the application's MFA policy is `none`); the sample API's /mfa answers
 * `insufficient_user_authentication` with `acr_values="urn:latchkey:acr:mfa"`; the client SDK's
 * fetchResource hands the challenge to the app's sign-in callback, which asks /authorize with
 * `acr_values`; the server asks only for the second factor (the session's password stands), and
 * the request, sent once more with the new token, passes. The same for `max_age` on a route that
 * wants a recent sign-in, and a callback whose tokens still fall short ends in a
 * StepUpRequiredError, never in a second sign-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { totpCodeAt } from '../../src/auth/totp.js';
import {
  LatchkeyClient,
  LatchkeyError,
  StepUpRequiredError,
  stepUpRequired,
  type TokenSet,
} from '../../src/client/index.js';
import { createVerifier, requireToken } from '../../src/resource/index.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';
import { Browser, formOf, type Step } from '../helpers/browser.js';
import { withServer } from '../helpers/flow.js';
import { createClient, PASSWORD } from '../helpers/server.js';

const PWD = 'urn:latchkey:acr:pwd';
const MFA = 'urn:latchkey:acr:mfa';

describe('step-up (RFC 9470): the client SDK follows an API’s challenge', () => {
  const s = withServer({ users: ['alice'] });
  let client: LatchkeyClient;
  let redirectUri: string;
  let secret: string;
  let sampleApi: FastifyInstance;
  let recentApi: FastifyInstance;
  let sampleUrl = '';
  let recentUrl = '';
  const browser = () => new Browser(s.server.url);

  before(async () => {
    const server = s.server;
    const app = await createClient(server, { consent: 'none', name: 'Step-up app' });
    // Password only unless asked: the person has a second factor, the application does not want it.
    await server.ctx.storage.clients.update(app.clientId, { mfa: 'none' });
    redirectUri = app.redirectUri;
    client = await LatchkeyClient.discover({
      issuer: server.issuer,
      clientId: app.clientId,
      now: () => server.clock.now(),
    });
    // An authenticator app for alice, confirmed one step back so the sign-in's code is a new step.
    const user = (await server.ctx.storage.users.getByUsername('alice'))!;
    const e = await server.ctx.factors.totp.startEnrolment(user);
    server.clock.advanceSeconds(-30);
    const ok = await server.ctx.factors.totp.confirm(
      user,
      e.factor.id,
      totpCodeAt(e.secret, server.clock.now()),
      '127.0.0.1',
    );
    server.clock.advanceSeconds(30);
    assert.equal(ok.outcome, 'ok');
    secret = e.secret;

    const verifierOptions = { now: () => server.clock.now() };
    sampleApi = buildSampleApi({ issuer: server.issuer, verifierOptions });
    sampleUrl = await sampleApi.listen({ port: 0, host: '127.0.0.1' });
    // A route that wants a sign-in of the last five minutes.
    const verifier = createVerifier({ issuer: server.issuer, audience: 'api://default', ...verifierOptions });
    recentApi = Fastify();
    recentApi.get('/recent', { preHandler: requireToken(verifier, { maxAge: 300 }) }, async (req) => ({
      auth_time: req.auth!.claims.auth_time,
    }));
    recentUrl = await recentApi.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await sampleApi?.close();
    await recentApi?.close();
  });

  interface SignIn {
    tokens: TokenSet;
    /** The sign-in steps the person was shown, in order. */
    steps: string[];
    authorizeUrl: URL;
  }

  /** The app's sign-in: the authorize URL from the SDK, then the real pages, as `b` (keeps its session). */
  async function signIn(b: Browser, params: { acrValues?: string[]; maxAge?: number } = {}): Promise<SignIn> {
    const request = await client.createAuthorizationRequest({
      redirectUri,
      scope: 'openid profile',
      ...params,
    });
    const steps: string[] = [];
    let step: Step = await b.get(request.url);
    for (let i = 0; i < 8 && step.status === 303 && step.location?.startsWith('/interaction/'); i++) {
      const page = await b.get(step.location);
      if (page.status !== 200) {
        step = page;
        continue;
      }
      const { csrf, actions } = formOf(page.body);
      const to = (suffix: string) => actions.find((a) => a.endsWith(suffix));
      if (page.body.includes('name="password"')) {
        steps.push('password');
        step = await b.post(to('/login')!, { csrf, username: 'alice', password: PASSWORD });
      } else if (to('/otp')) {
        steps.push('otp');
        step = await b.post(to('/otp')!, { csrf, code: totpCodeAt(secret, s.server.clock.now()) });
      } else assert.fail(`an unexpected sign-in page: ${page.body.slice(0, 300)}`);
    }
    assert.equal(step.status, 303, step.body.slice(0, 300));
    assert.ok(step.location?.startsWith(redirectUri), step.location ?? '');
    const tokens = await client.completeAuthorization(step.location!, request);
    return { tokens, steps, authorizeUrl: new URL(request.url) };
  }

  it('password first; /mfa challenges; the callback signs in with acr_values, only the code is asked; the retry passes', async () => {
    const b = browser();
    const first = await signIn(b);
    assert.deepEqual(first.steps, ['password']);
    const firstClaims = decodeJwt(first.tokens.accessToken);
    assert.equal(firstClaims.acr, PWD);

    // Not followed: the API's answer as it is, and the typed error read from it.
    const plain = await client.fetchResource(`${sampleUrl}/mfa`, first.tokens);
    assert.equal(plain.status, 401);
    assert.match(
      plain.headers.get('www-authenticate') ?? '',
      /^Bearer realm="latchkey-sample-api", error="insufficient_user_authentication", error_description="[^"]+", acr_values="urn:latchkey:acr:mfa"$/,
    );
    const challenge = stepUpRequired(plain);
    assert.ok(challenge instanceof StepUpRequiredError);
    assert.deepEqual(challenge.acrValues, [MFA]);
    assert.equal(challenge.maxAge, undefined);
    await plain.text();

    // Followed.
    s.server.clock.advanceSeconds(60);
    const seen: StepUpRequiredError[] = [];
    let stepUp: SignIn | undefined;
    const res = await client.fetchResource(`${sampleUrl}/mfa`, first.tokens, {
      stepUp: async (c) => {
        seen.push(c);
        stepUp = await signIn(b, c.authorizationParams);
        return stepUp.tokens;
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(seen.length, 1, 'one sign-in');
    assert.deepEqual(seen[0]!.acrValues, [MFA]);
    assert.ok(stepUp);
    assert.equal(stepUp.authorizeUrl.searchParams.get('acr_values'), MFA);
    assert.equal(stepUp.authorizeUrl.searchParams.get('max_age'), null);
    assert.deepEqual(stepUp.steps, ['otp'], 'the second factor only: no password again');
    const claims = decodeJwt(stepUp.tokens.accessToken);
    assert.equal(claims.acr, MFA);
    assert.equal(claims.sub, firstClaims.sub);
    assert.ok(Number(claims.auth_time) > Number(firstClaims.auth_time), 'auth_time moved with the step-up');
    assert.deepEqual(stepUp.tokens.idTokenClaims?.['amr'], ['pwd', 'otp', 'mfa']);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['acr'], MFA);
    assert.equal(body['auth_time'], claims.auth_time);

    // The new token goes on passing by itself; the old one still does not.
    assert.equal((await client.fetchResource(`${sampleUrl}/mfa`, stepUp.tokens)).status, 200);
    assert.equal((await client.fetchResource(`${sampleUrl}/hello`, first.tokens)).status, 200);
  });

  it('max_age: a stale sign-in is challenged, the callback asks max_age and signs in again, the retry passes', async () => {
    const b = browser();
    const first = await signIn(b);
    s.server.clock.advanceSeconds(600);
    const stale = await client.fetchResource(`${recentUrl}/recent`, first.tokens);
    assert.equal(stale.status, 401);
    assert.match(
      stale.headers.get('www-authenticate') ?? '',
      /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age=300$/,
    );
    await stale.text();
    let fresh: SignIn | undefined;
    const res = await client.fetchResource(`${recentUrl}/recent`, first.tokens, {
      stepUp: async (c) => {
        assert.deepEqual(c.authorizationParams, { maxAge: 300 });
        fresh = await signIn(b, c.authorizationParams);
        return fresh.tokens;
      },
    });
    assert.equal(res.status, 200);
    assert.ok(fresh);
    assert.equal(fresh.authorizeUrl.searchParams.get('max_age'), '300');
    assert.deepEqual(fresh.steps, ['password'], 'the session is too old: the person signs in again');
    assert.equal(fresh.tokens.idTokenClaims?.['auth_time'], decodeJwt(fresh.tokens.accessToken).auth_time);
    await res.text();
  });

  it('throws the StepUpRequiredError when the tokens from the callback are challenged too (one sign-in, no loop)', async () => {
    const first = await signIn(browser());
    let calls = 0;
    await assert.rejects(
      client.fetchResource(`${sampleUrl}/mfa`, first.tokens, {
        stepUp: async () => {
          calls++;
          return first.tokens.accessToken; // as weak as before
        },
      }),
      (e: unknown) =>
        e instanceof StepUpRequiredError &&
        e.code === 'LATCHKEY_STEP_UP_REQUIRED' &&
        e.acrValues.join() === MFA,
    );
    assert.equal(calls, 1);
    // A callback that fails (the person gave up) fails the call with its own error.
    await assert.rejects(
      client.fetchResource(`${sampleUrl}/mfa`, first.tokens, {
        stepUp: async () => {
          throw new Error('cancelled');
        },
      }),
      /cancelled/,
    );
  });

  it('checks acrValues and maxAge, and the ID token’s auth_time against max_age', async () => {
    const isArg = (e: unknown) => e instanceof LatchkeyError && e.code === 'LATCHKEY_INVALID_ARGUMENT';
    for (const bad of [{ acrValues: ['two words'] }, { acrValues: [''] }, { maxAge: -1 }, { maxAge: 2.5 }]) {
      await assert.rejects(client.createAuthorizationRequest({ redirectUri, ...(bad as object) }), isArg);
    }
    const req = await client.createAuthorizationRequest({
      redirectUri,
      acrValues: 'urn:latchkey:acr:phr urn:latchkey:acr:mfa',
      maxAge: 0,
    });
    const url = new URL(req.url);
    assert.equal(url.searchParams.get('acr_values'), 'urn:latchkey:acr:phr urn:latchkey:acr:mfa');
    assert.equal(url.searchParams.get('max_age'), '0');
    assert.deepEqual(req.acrValues, ['urn:latchkey:acr:phr', 'urn:latchkey:acr:mfa']);
    assert.equal(req.maxAge, 0);
    await assert.rejects(client.fetchResource(`${sampleUrl}/hello`, 'x', { stepUp: 'no' as never }), isArg);

    // A client whose clock runs 10 minutes ahead takes the sign-in for older than max_age 300.
    const ahead = await LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId: client.clientId,
      now: () => s.server.clock.now() + 600_000,
    });
    const request = await ahead.createAuthorizationRequest({ redirectUri, scope: 'openid', maxAge: 300 });
    const b = browser();
    let step: Step = await b.get(request.url);
    while (step.status === 303 && step.location?.startsWith('/interaction/')) {
      const page = await b.get(step.location);
      if (page.status !== 200) {
        step = page;
        continue;
      }
      const { csrf, actions } = formOf(page.body);
      step = await b.post(actions.find((a) => a.endsWith('/login'))!, {
        csrf,
        username: 'alice',
        password: PASSWORD,
      });
    }
    await assert.rejects(
      ahead.completeAuthorization(step.location!, request),
      (e: unknown) =>
        e instanceof LatchkeyError && e.code === 'LATCHKEY_ID_TOKEN_INVALID' && /max_age/.test(e.message),
    );
  });
});
