/**
 * The /authorize checks (src/protocol/authorize/) called directly: no HTTP, no storage, plain
 * client objects behind `getClient`. Each check is tried alone for what it accepts and what it
 * sets on the context, and through the whole ordered list (runAuthorizeChecks) for every refusal.
 *
 * Redirected or not: src/http/routes/authorize.ts shows an error page while `ctx.redirectUri` is
 * still unset when a check throws, and redirects the error to the client once it is set
 * (RFC 6749 §4.1.2.1: never redirect on a bad client_id or redirect_uri). `refused()` reads that
 * same field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiAdmin } from '../../src/admin/apis.js';
import { systemClock } from '../../src/clock.js';
import { checkClient } from '../../src/protocol/authorize/check-client.js';
import { checkDpopJkt } from '../../src/protocol/authorize/check-dpop-jkt.js';
import { checkParameters } from '../../src/protocol/authorize/check-parameters.js';
import { checkPkce } from '../../src/protocol/authorize/check-pkce.js';
import { checkPromptAndMaxAge } from '../../src/protocol/authorize/check-prompt.js';
import { checkPushed } from '../../src/protocol/authorize/check-pushed.js';
import { checkRedirectUri } from '../../src/protocol/authorize/check-redirect-uri.js';
import { checkRequestObject } from '../../src/protocol/authorize/check-request-object.js';
import { checkResource } from '../../src/protocol/authorize/check-resource.js';
import { checkResponseMode } from '../../src/protocol/authorize/check-response-mode.js';
import { checkResponseType } from '../../src/protocol/authorize/check-response-type.js';
import { checkScope } from '../../src/protocol/authorize/check-scope.js';
import { AUTHORIZE_CHECKS, runAuthorizeChecks } from '../../src/protocol/authorize/index.js';
import type {
  AuthorizationRequest,
  AuthorizeCheck,
  AuthorizeContext,
  AuthorizeDeps,
} from '../../src/protocol/authorize/request.js';
import { OAuthError, type OAuthErrorCode } from '../../src/protocol/errors.js';
import { readParams } from '../../src/protocol/params.js';
import { s256 } from '../../src/protocol/pkce.js';
import { openMemoryStorage } from '../../src/storage/memory/index.js';
import type { Client } from '../../src/storage/types.js';

const T0 = 1_790_000_000_000;
/** RFC 7636 Appendix B. */
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const baseClient = (over: Partial<Client>): Client => ({
  clientId: 'native-app',
  name: 'Test app',
  type: 'native',
  redirectUris: ['http://127.0.0.1/callback', 'com.example.app:/cb'],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code', 'refresh_token'],
  tokenEndpointAuthMethod: 'none',
  secretHash: null,
  consent: 'none',
  requirePkce: true,
  accessTokenTtl: null,
  refreshTokenTtl: null,
  refreshIdleTtl: null,
  refreshGrace: null,
  rotateRefreshTokens: true,
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

/** A public native app: two redirect URIs (loopback and private-use scheme), PKCE required. */
const nativeApp = baseClient({});
/** A single-page app with exactly one redirect URI. */
const spaApp = baseClient({ clientId: 'spa-app', type: 'spa', redirectUris: ['https://spa.example.com/cb'] });
/** A confidential web app: PKCE not required, no refresh tokens. */
const webApp = baseClient({
  clientId: 'web-app',
  type: 'web',
  redirectUris: ['https://app.example.com/callback'],
  grantTypes: ['authorization_code'],
  tokenEndpointAuthMethod: 'client_secret_basic',
  secretHash: 'not-used-here',
  requirePkce: false,
});
const serviceApp = baseClient({
  clientId: 'service-app',
  type: 'service',
  redirectUris: [],
  grantTypes: ['client_credentials'],
  tokenEndpointAuthMethod: 'client_secret_basic',
  secretHash: 'not-used-here',
  requirePkce: false,
});
/** A stored client that lost the authorization_code grant (not what registration makes, but storable). */
const noCodeApp = baseClient({ clientId: 'no-code-app', grantTypes: ['refresh_token'] });

const CLIENTS = new Map([nativeApp, spaApp, webApp, serviceApp, noCodeApp].map((c) => [c.clientId, c]));
const lookups: string[] = [];
const deps: AuthorizeDeps = {
  getClient: async (id) => {
    lookups.push(id);
    return CLIENTS.get(id);
  },
  requirePar: false,
  apis: new ApiAdmin(openMemoryStorage().apis, systemClock, 'api://default'),
};

/** A valid request for the native app; `over` replaces parameters, `null` removes one. */
function paramsOf(over: Record<string, unknown> = {}): Record<string, unknown> {
  const p: Record<string, unknown> = {
    client_id: nativeApp.clientId,
    redirect_uri: 'http://127.0.0.1/callback',
    response_type: 'code',
    scope: 'openid profile',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    state: 'st-123',
    nonce: 'n-0S6_WzA2Mj',
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete p[k];
    else p[k] = v;
  }
  return p;
}

const ctxOf = (params: Record<string, unknown>, client?: Client): AuthorizeContext => ({
  params: readParams(params),
  via: 'front',
  ...(client ? { client } : {}),
});

/** Runs one check alone on a context; returns the context (for what the check set). */
async function runOne(check: AuthorizeCheck, ctx: AuthorizeContext): Promise<AuthorizeContext> {
  await check(ctx, deps);
  return ctx;
}

/** Runs one check alone and expects it to throw `code`. */
async function oneRefuses(
  check: AuthorizeCheck,
  ctx: AuthorizeContext,
  code: OAuthErrorCode,
  description?: RegExp,
): Promise<void> {
  await assert.rejects(
    async () => check(ctx, deps),
    (err: unknown) => {
      assert.ok(err instanceof OAuthError, `an OAuthError, not ${String(err)}`);
      assert.equal(err.code, code, err.description);
      if (description) assert.match(err.description, description);
      return true;
    },
  );
}

/** The whole ordered list on `params` (optionally with the raw query for percent-encoding checks). */
async function runAll(params: Record<string, unknown>, raw?: string) {
  const ctx: AuthorizeContext = { params: readParams(params, raw), via: 'front' };
  return { ctx, request: await runAuthorizeChecks(ctx, deps) };
}

interface Refusal {
  /** true: sent back to the redirect URI; false: shown on an error page (RFC 6749 §4.1.2.1). */
  redirected: boolean;
  description?: RegExp;
  raw?: string;
}

/** The whole list refuses `params` with `code`, redirected to the client or not. */
async function refused(
  params: Record<string, unknown>,
  code: OAuthErrorCode,
  want: Refusal,
): Promise<{ err: OAuthError; ctx: AuthorizeContext }> {
  const ctx: AuthorizeContext = { params: readParams(params, want.raw), via: 'front' };
  let caught: unknown;
  try {
    await runAuthorizeChecks(ctx, deps);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OAuthError, `an OAuthError, not ${String(caught)}`);
  const err = caught;
  assert.equal(err.code, code, err.description);
  assert.equal(err.status, 400);
  if (want.description) assert.match(err.description, want.description);
  assert.equal(
    ctx.redirectUri !== undefined,
    want.redirected,
    want.redirected ? 'the error goes back to the client' : 'the error is shown on an error page',
  );
  return { err, ctx };
}

describe('the ordered list (index.ts)', () => {
  test('client, redirect URI, response mode, parameters, response type, scope, PKCE, prompt', () => {
    assert.deepEqual(AUTHORIZE_CHECKS, [
      checkClient,
      checkRequestObject,
      checkPushed,
      checkRedirectUri,
      checkResponseMode,
      checkParameters,
      checkDpopJkt,
      checkResponseType,
      checkScope,
      checkResource,
      checkPkce,
      checkPromptAndMaxAge,
    ]);
  });

  test('a valid request becomes the AuthorizationRequest kept during sign-in', async () => {
    const { request } = await runAll(
      paramsOf({ prompt: 'login', max_age: '300', login_hint: 'ada', response_mode: 'form_post' }),
    );
    assert.deepEqual(request, {
      clientId: nativeApp.clientId,
      redirectUri: 'http://127.0.0.1/callback',
      redirectUriGiven: true,
      responseMode: 'form_post',
      scopes: ['openid', 'profile'],
      state: 'st-123',
      nonce: 'n-0S6_WzA2Mj',
      codeChallenge: CHALLENGE,
      prompt: ['login'],
      maxAge: 300,
      loginHint: 'ada',
      // RFC 8707: no resource named → the default API, with none of its scopes (it has none).
      apis: [{ identifier: 'api://default', scopes: [] }],
    } satisfies AuthorizationRequest);
  });

  test('the optional parameters default to null, [] and query', async () => {
    const { request } = await runAll(paramsOf({ state: null, nonce: null, scope: null }));
    assert.equal(request.state, null);
    assert.equal(request.nonce, null);
    assert.equal(request.loginHint, null);
    assert.equal(request.maxAge, null);
    assert.deepEqual(request.prompt, []);
    assert.deepEqual(request.scopes, []);
    assert.equal(request.responseMode, 'query');
  });

  describe('a request with several problems reports the one checked first', () => {
    test('unknown client_id before a bad redirect_uri (both an error page)', async () => {
      await refused(
        paramsOf({ client_id: 'nobody', redirect_uri: 'https://evil.example/cb' }),
        'invalid_request',
        {
          redirected: false,
          description: /not registered/,
        },
      );
    });
    test('a bad redirect_uri before a bad scope: an error page, not invalid_scope (RFC 6749 §4.1.2.1)', async () => {
      await refused(
        paramsOf({ redirect_uri: 'https://evil.example/cb', scope: 'openid "x"' }),
        'invalid_request',
        {
          redirected: false,
          description: /redirect_uri/,
        },
      );
    });
    test('a bad redirect_uri before an unsupported response_type, response_mode or missing PKCE', async () => {
      await refused(
        paramsOf({
          redirect_uri: 'http://127.0.0.1/other',
          response_type: 'token',
          response_mode: 'fragment',
          code_challenge: null,
          code_challenge_method: null,
        }),
        'invalid_request',
        { redirected: false, description: /redirect_uri/ },
      );
    });
    test('a service client before its (absent) redirect URI: unauthorized_client on an error page', async () => {
      await refused(paramsOf({ client_id: serviceApp.clientId }), 'unauthorized_client', {
        redirected: false,
      });
    });
    test('an unknown response_mode before a repeated parameter (the error is still redirected)', async () => {
      const { ctx } = await refused(
        paramsOf({ response_mode: 'fragment', scope: ['openid', 'email'] }),
        'invalid_request',
        {
          redirected: true,
          description: /response_mode/,
        },
      );
      assert.equal(ctx.responseMode, 'query');
    });
    test('a repeated parameter before an unsupported response_type', async () => {
      await refused(paramsOf({ state: ['a', 'b'], response_type: 'token' }), 'invalid_request', {
        redirected: true,
        description: /more than once: state/,
      });
    });
    test('a request object before an unsupported response_type', async () => {
      await refused(paramsOf({ request: 'eyJ.x.y', response_type: 'token' }), 'request_not_supported', {
        redirected: true,
      });
    });
    test('an unsupported response_type before a malformed scope', async () => {
      await refused(
        paramsOf({ response_type: 'token', scope: 'openid\tprofile' }),
        'unsupported_response_type',
        {
          redirected: true,
        },
      );
    });
    test('a malformed scope before missing PKCE', async () => {
      await refused(
        paramsOf({ scope: 'a\\b', code_challenge: null, code_challenge_method: null }),
        'invalid_scope',
        {
          redirected: true,
        },
      );
    });
    test('bad PKCE before a bad prompt or max_age', async () => {
      await refused(
        paramsOf({ code_challenge_method: 'plain', prompt: 'none login', max_age: '-1' }),
        'invalid_request',
        {
          redirected: true,
          description: /code_challenge_method/,
        },
      );
    });
    test('the client lookup happens once, and not at all when client_id is repeated', async () => {
      lookups.length = 0;
      await runAll(paramsOf());
      assert.deepEqual(lookups, [nativeApp.clientId]);
      lookups.length = 0;
      await refused(paramsOf({ client_id: [nativeApp.clientId, webApp.clientId] }), 'invalid_request', {
        redirected: false,
      });
      assert.deepEqual(lookups, []);
    });
  });
});

describe('checkClient (RFC 6749 §4.1.2.1: client errors are never redirected)', () => {
  test('a registered client is looked up and set on the context', async () => {
    const ctx = await runOne(checkClient, ctxOf({ client_id: webApp.clientId }));
    assert.equal(ctx.client?.clientId, webApp.clientId);
    assert.equal(ctx.redirectUri, undefined);
  });
  test('missing client_id → invalid_request, error page', async () => {
    await refused(paramsOf({ client_id: null }), 'invalid_request', {
      redirected: false,
      description: /missing/,
    });
  });
  test('empty client_id → invalid_request (as missing), error page', async () => {
    await refused(paramsOf({ client_id: '' }), 'invalid_request', {
      redirected: false,
      description: /missing/,
    });
  });
  test('client_id given twice → invalid_request, error page (RFC 6749 §3.1)', async () => {
    await refused(paramsOf({ client_id: [nativeApp.clientId, nativeApp.clientId] }), 'invalid_request', {
      redirected: false,
      description: /more than once/,
    });
  });
  test('an over-long client_id is treated as missing, error page', async () => {
    await refused(paramsOf({ client_id: 'x'.repeat(5000) }), 'invalid_request', {
      redirected: false,
      description: /missing/,
    });
  });
  test('unknown client_id → invalid_request (invalid_client is no authorization-endpoint code), error page', async () => {
    const { err } = await refused(paramsOf({ client_id: 'nobody' }), 'invalid_request', {
      redirected: false,
      description: /not registered/,
    });
    assert.equal(err.detail, 'nobody', 'the client_id goes to the logs only');
    assert.doesNotMatch(err.description, /nobody/);
  });
  test('a service application (client credentials only) → unauthorized_client, error page', async () => {
    await oneRefuses(checkClient, ctxOf({ client_id: serviceApp.clientId }), 'unauthorized_client');
    await refused(paramsOf({ client_id: serviceApp.clientId }), 'unauthorized_client', { redirected: false });
  });
});

describe('checkRedirectUri (RFC 9700 §4.1.3 exact match; failures are an error page)', () => {
  const withClient = (client: Client, params: Record<string, unknown>) => ctxOf(params, client);

  test('an exactly registered redirect_uri is used, and marked as given', async () => {
    for (const uri of nativeApp.redirectUris) {
      const ctx = await runOne(checkRedirectUri, withClient(nativeApp, { redirect_uri: uri }));
      assert.equal(ctx.redirectUri, uri);
      assert.equal(ctx.redirectUriGiven, true);
    }
  });
  test('a loopback IP redirect URI may name any port (RFC 8252 §7.3)', async () => {
    const { request } = await runAll(paramsOf({ redirect_uri: 'http://127.0.0.1:49152/callback' }));
    assert.equal(
      request.redirectUri,
      'http://127.0.0.1:49152/callback',
      'the port asked for is the one used',
    );
  });
  test('omitted with one registered URI and no openid: that URI, not marked as given (RFC 6749 §3.1.2.3)', async () => {
    const ctx = await runOne(checkRedirectUri, withClient(spaApp, { scope: 'profile' }));
    assert.equal(ctx.redirectUri, 'https://spa.example.com/cb');
    assert.equal(ctx.redirectUriGiven, false);
    const { request } = await runAll(
      paramsOf({ client_id: spaApp.clientId, redirect_uri: null, scope: 'profile email' }),
    );
    assert.equal(request.redirectUriGiven, false);
  });
  test('omitted in an OpenID request → invalid_request, error page (OIDC Core §3.1.2.1: REQUIRED)', async () => {
    await refused(
      paramsOf({ client_id: spaApp.clientId, redirect_uri: null, scope: 'profile openid' }),
      'invalid_request',
      {
        redirected: false,
        description: /required for OpenID/,
      },
    );
  });
  test('omitted when several are registered → invalid_request, error page (RFC 6749 §3.1.2.3)', async () => {
    await refused(paramsOf({ redirect_uri: null, scope: 'profile' }), 'invalid_request', {
      redirected: false,
      description: /several registered/,
    });
  });
  test('given twice → invalid_request, error page, even when both values are registered', async () => {
    await refused(paramsOf({ redirect_uri: nativeApp.redirectUris }), 'invalid_request', {
      redirected: false,
      description: /more than once/,
    });
  });
  test('over-long or badly percent-encoded → invalid_request, error page', async () => {
    await refused(paramsOf({ redirect_uri: `http://127.0.0.1/${'a'.repeat(5000)}` }), 'invalid_request', {
      redirected: false,
      description: /too long or malformed/,
    });
    await refused(paramsOf({ redirect_uri: 'http://127.0.0.1/callback%zz' }), 'invalid_request', {
      redirected: false,
      description: /too long or malformed/,
      raw: 'redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback%zz',
    });
  });
  test('anything but an exact match → invalid_request, error page (RFC 9700 §4.1.3)', async () => {
    for (const bad of [
      '',
      'https://evil.example/callback',
      'http://127.0.0.1/callback/',
      'http://127.0.0.1/Callback',
      'http://127.0.0.1/callback?x=1',
      'http://127.0.0.1/callback#frag',
      'http://127.0.0.2/callback',
      'http://localhost/callback',
      'https://127.0.0.1/callback',
      'HTTP://127.0.0.1/callback',
      'http://127.0.0.1:99999/callback',
      'com.example.app:/cb/extra',
      'com.example.app://cb',
    ]) {
      await refused(paramsOf({ redirect_uri: bad }), 'invalid_request', {
        redirected: false,
        description: /does not match/,
      });
    }
  });
});

describe('checkResponseMode (OAuth 2.0 Multiple Response Types §2.1, Form Post Response Mode)', () => {
  test('absent or query → query; form_post → form_post', async () => {
    const client = nativeApp;
    assert.equal((await runOne(checkResponseMode, ctxOf({}, client))).responseMode, 'query');
    assert.equal(
      (await runOne(checkResponseMode, ctxOf({ response_mode: 'query' }, client))).responseMode,
      'query',
    );
    assert.equal(
      (await runOne(checkResponseMode, ctxOf({ response_mode: 'form_post' }, client))).responseMode,
      'form_post',
    );
  });
  test('anything else → invalid_request, redirected in the query (the default mode)', async () => {
    for (const mode of ['fragment', 'jwt', 'query.jwt', 'FORM_POST', '']) {
      const { ctx } = await refused(paramsOf({ response_mode: mode }), 'invalid_request', {
        redirected: true,
        description: /response_mode/,
      });
      assert.equal(ctx.responseMode, 'query', mode);
    }
  });
});

describe('checkParameters (RFC 6749 §3.1: no parameter twice; OIDC Core §6: no request objects)', () => {
  test('accepts state up to 2048 and nonce up to 512 characters', async () => {
    await runOne(checkParameters, ctxOf(paramsOf({ state: 's'.repeat(2048), nonce: 'n'.repeat(512) })));
    const { request } = await runAll(paramsOf({ state: 's'.repeat(2048), nonce: 'n'.repeat(512) }));
    assert.equal(request.state?.length, 2048);
    assert.equal(request.nonce?.length, 512);
  });
  test('unknown parameters are ignored (RFC 6749 §3.1)', async () => {
    await runAll(paramsOf({ foo: 'bar', claims: '{}' }));
  });
  test('any parameter given twice → invalid_request, redirected', async () => {
    for (const name of ['state', 'scope', 'response_type', 'code_challenge', 'nonce', 'unknown_thing']) {
      await refused(paramsOf({ [name]: ['a', 'b'] }), 'invalid_request', {
        redirected: true,
        description: new RegExp(`more than once: ${name}`),
      });
    }
  });
  test('an over-long, non-text or badly encoded parameter → invalid_request, redirected', async () => {
    await refused(paramsOf({ login_hint: 'x'.repeat(4097) }), 'invalid_request', {
      redirected: true,
      description: /too long or malformed: login_hint/,
    });
    await refused(paramsOf({ state: 'a\u0000b' }), 'invalid_request', {
      redirected: true,
      description: /malformed: state/,
    });
    await refused(paramsOf({ state: '%zz' }), 'invalid_request', {
      redirected: true,
      description: /malformed: state/,
      raw: 'state=%zz',
    });
  });
  test('request → request_not_supported, another request_uri → request_uri_not_supported, one inside a pushed request → invalid_request; redirected', async () => {
    await refused(paramsOf({ request: 'eyJhbGciOiJub25lIn0.e30.' }), 'request_not_supported', {
      redirected: true,
    });
    await refused(paramsOf({ request: '' }), 'request_not_supported', { redirected: true });
    // The route resolves a request_uri from /par before the checks (protocol/par.ts); any other
    // is not supported, and one inside the pushed parameters is refused (RFC 9126 §2.1).
    await refused(
      paramsOf({ request_uri: 'https://rp.example.com/request.jwt' }),
      'request_uri_not_supported',
      {
        redirected: true,
      },
    );
    const pushed: AuthorizeContext = {
      params: readParams(paramsOf({ request_uri: 'urn:ietf:params:oauth:request_uri:x' })),
      via: 'par',
    };
    await assert.rejects(runAuthorizeChecks(pushed, deps), /cannot be part of a pushed/);
  });

  test('PAR required (RFC 9126 §5) by the application or the server: a front-channel request → error page', async () => {
    const parApp = { ...nativeApp, requirePushedAuthorizationRequests: true };
    const ctx = ctxOf(paramsOf(), parApp);
    await oneRefuses(checkPushed, ctx, 'invalid_request', /must push its authorization requests/);
    await runOne(checkPushed, { ...ctxOf(paramsOf(), parApp), via: 'pushed' });
    await runOne(checkPushed, { ...ctxOf(paramsOf(), parApp), via: 'par' });
    await runOne(checkPushed, ctxOf(paramsOf(), nativeApp));
    assert.throws(
      () => checkPushed(ctxOf(paramsOf(), nativeApp), { ...deps, requirePar: true }),
      /must push/,
    );
  });
  test('state over 2048 → invalid_request, redirected', async () => {
    await refused(paramsOf({ state: 's'.repeat(2049) }), 'invalid_request', {
      redirected: true,
      description: /state is too long/,
    });
  });
  test('nonce over 512 → invalid_request, redirected', async () => {
    await refused(paramsOf({ nonce: 'n'.repeat(513) }), 'invalid_request', {
      redirected: true,
      description: /nonce is too long/,
    });
  });
});

describe('checkResponseType (OAuth 2.1 §4.1.1: code only)', () => {
  test('response_type=code for a client with the authorization_code grant', async () => {
    await runOne(checkResponseType, ctxOf({ response_type: 'code' }, nativeApp));
  });
  test('missing → invalid_request, redirected (RFC 6749 §4.1.2.1)', async () => {
    await refused(paramsOf({ response_type: null }), 'invalid_request', {
      redirected: true,
      description: /response_type/,
    });
  });
  test('any other value → unsupported_response_type, redirected (RFC 6749 §4.1.2.1)', async () => {
    for (const rt of ['token', 'id_token', 'code id_token', 'code token', 'none', 'CODE', 'code ', '']) {
      await refused(paramsOf({ response_type: rt }), 'unsupported_response_type', { redirected: true });
    }
  });
  test('a client without the authorization_code grant → unauthorized_client, redirected', async () => {
    await oneRefuses(checkResponseType, ctxOf({ response_type: 'code' }, noCodeApp), 'unauthorized_client');
    await refused(paramsOf({ client_id: noCodeApp.clientId }), 'unauthorized_client', { redirected: true });
  });
});

describe('checkScope (RFC 6749 §3.3; OIDC Core §3.1.2.1: unknown scopes are ignored)', () => {
  const scopesOf = async (scope: string | undefined, client: Client = nativeApp) =>
    (await runOne(checkScope, ctxOf(scope === undefined ? {} : { scope }, client))).scopes;

  test('known scopes are kept in a stable order, unknown ones dropped, repeats folded', async () => {
    assert.deepEqual(await scopesOf('email openid api:read profile offline_access email'), [
      'openid',
      'profile',
      'email',
      'offline_access',
    ]);
  });
  test('absent, empty or only unknown values → no scopes (not an error)', async () => {
    assert.deepEqual(await scopesOf(undefined), []);
    assert.deepEqual(await scopesOf(''), []);
    assert.deepEqual(await scopesOf('api:read write'), []);
  });
  test('offline_access only for clients allowed the refresh_token grant', async () => {
    assert.deepEqual(await scopesOf('openid offline_access', nativeApp), ['openid', 'offline_access']);
    assert.deepEqual(await scopesOf('openid offline_access', webApp), ['openid']);
  });
  test('characters outside the scope-token charset → invalid_scope, redirected (RFC 6749 §3.3)', async () => {
    for (const bad of [
      'openid "profile"',
      'openid\\profile',
      'openid\tprofile',
      'openid\nprofile',
      'openid é',
    ]) {
      await refused(paramsOf({ scope: bad }), 'invalid_scope', { redirected: true });
    }
  });
});

describe('checkPkce (RFC 7636 §4.3; OAuth 2.1 and RFC 9700 §2.1.1: S256 only)', () => {
  test('S256 with a 43-character base64url challenge is kept (RFC 7636 Appendix B)', async () => {
    const ctx = await runOne(
      checkPkce,
      ctxOf({ code_challenge: CHALLENGE, code_challenge_method: 'S256' }, nativeApp),
    );
    assert.equal(ctx.codeChallenge, CHALLENGE);
    assert.equal(s256(VERIFIER), CHALLENGE);
  });
  test('no PKCE at all is allowed for a client that does not require it: codeChallenge null', async () => {
    const ctx = await runOne(checkPkce, ctxOf({}, webApp));
    assert.equal(ctx.codeChallenge, null);
    const { request } = await runAll(
      paramsOf({
        client_id: webApp.clientId,
        redirect_uri: webApp.redirectUris[0],
        code_challenge: null,
        code_challenge_method: null,
      }),
    );
    assert.equal(request.codeChallenge, null);
  });
  test('a client that does not require PKCE still has a given challenge checked and kept', async () => {
    const ctx = await runOne(
      checkPkce,
      ctxOf({ code_challenge: CHALLENGE, code_challenge_method: 'S256' }, webApp),
    );
    assert.equal(ctx.codeChallenge, CHALLENGE);
    await oneRefuses(checkPkce, ctxOf({ code_challenge: CHALLENGE }, webApp), 'invalid_request');
  });
  test('missing challenge for a client that requires PKCE → invalid_request, redirected', async () => {
    await refused(paramsOf({ code_challenge: null, code_challenge_method: null }), 'invalid_request', {
      redirected: true,
      description: /PKCE is required/,
    });
  });
  test('code_challenge_method without code_challenge → invalid_request, redirected', async () => {
    await refused(paramsOf({ code_challenge: null }), 'invalid_request', {
      redirected: true,
      description: /without a code_challenge/,
    });
    await oneRefuses(checkPkce, ctxOf({ code_challenge_method: 'S256' }, webApp), 'invalid_request');
  });
  test('plain, or an omitted method (which means plain, RFC 7636 §4.3) → invalid_request, redirected', async () => {
    await refused(paramsOf({ code_challenge_method: 'plain' }), 'invalid_request', {
      redirected: true,
      description: /must be S256/,
    });
    await refused(paramsOf({ code_challenge_method: null }), 'invalid_request', {
      redirected: true,
      description: /must be S256/,
    });
  });
  test('methods are case-sensitive and only S256 exists: s256, SHA256, "" → invalid_request', async () => {
    for (const method of ['s256', 'SHA256', 'S512', '']) {
      await refused(paramsOf({ code_challenge_method: method }), 'invalid_request', {
        redirected: true,
        description: /must be S256/,
      });
    }
  });
  test('a challenge that is not BASE64URL(SHA-256(...)) → invalid_request, redirected (RFC 7636 §4.2)', async () => {
    for (const bad of [
      CHALLENGE.slice(0, 42),
      `${CHALLENGE}A`,
      `${CHALLENGE}=`,
      `${CHALLENGE.slice(0, 42)}+`,
      `${CHALLENGE.slice(0, 42)}/`,
      `${CHALLENGE.slice(0, 42)}.`,
      `${CHALLENGE.slice(0, 42)}~`,
      VERIFIER.repeat(2), // a plain-method challenge (a verifier, 43–128 chars) is not a S256 one
      '',
    ]) {
      await refused(paramsOf({ code_challenge: bad }), 'invalid_request', {
        redirected: true,
        description: /43 base64url characters/,
      });
    }
  });
});

describe('checkPromptAndMaxAge (OIDC Core §3.1.2.1)', () => {
  const promptOf = async (prompt: string) =>
    (await runOne(checkPromptAndMaxAge, ctxOf({ prompt }, nativeApp))).prompt;
  const maxAgeOf = async (max_age: string | undefined) =>
    (await runOne(checkPromptAndMaxAge, ctxOf(max_age === undefined ? {} : { max_age }, nativeApp))).maxAge;

  test('none, login, consent, select_account, alone or space-separated; repeats folded; empty = none given', async () => {
    assert.deepEqual(await promptOf('none'), ['none']);
    assert.deepEqual(await promptOf('login'), ['login']);
    assert.deepEqual(await promptOf('consent'), ['consent']);
    assert.deepEqual(await promptOf('select_account'), ['select_account']);
    assert.deepEqual(await promptOf('login consent'), ['login', 'consent']);
    assert.deepEqual(await promptOf('login  login '), ['login']);
    assert.deepEqual(await promptOf('none none'), ['none']);
    assert.deepEqual(await promptOf(''), []);
    assert.deepEqual((await runOne(checkPromptAndMaxAge, ctxOf({}, nativeApp))).prompt, []);
  });
  test('an unknown prompt value → invalid_request, redirected', async () => {
    for (const p of ['create', 'LOGIN', 'login,consent', 'login bogus']) {
      await refused(paramsOf({ prompt: p }), 'invalid_request', {
        redirected: true,
        description: /Unsupported prompt value/,
      });
    }
  });
  test('the echoed unknown prompt value is cut to 40 characters', async () => {
    const { err } = await refused(paramsOf({ prompt: 'x'.repeat(100) }), 'invalid_request', {
      redirected: true,
    });
    assert.ok(err.description.includes('x'.repeat(40)));
    assert.ok(!err.description.includes('x'.repeat(41)));
  });
  test('none with any other value → invalid_request, redirected (OIDC Core §3.1.2.1)', async () => {
    for (const p of ['none login', 'consent none', 'none select_account']) {
      await refused(paramsOf({ prompt: p }), 'invalid_request', {
        redirected: true,
        description: /prompt=none cannot be combined/,
      });
    }
  });
  test('max_age: absent → null; a non-negative whole number of seconds, 0 included', async () => {
    assert.equal(await maxAgeOf(undefined), null);
    assert.equal(await maxAgeOf('0'), 0);
    assert.equal(await maxAgeOf('3600'), 3600);
    assert.equal(await maxAgeOf('007'), 7);
    assert.equal(await maxAgeOf('999999999'), 999_999_999);
  });
  test('max_age not a non-negative integer (or over 9 digits) → invalid_request, redirected', async () => {
    for (const bad of ['', '-1', '1.5', '1e3', ' 10', '10 ', 'abc', '0x10', '+5', '1000000000']) {
      await refused(paramsOf({ max_age: bad }), 'invalid_request', {
        redirected: true,
        description: /max_age/,
      });
    }
  });
});
