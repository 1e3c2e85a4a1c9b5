/**
 * Client authentication (src/protocol/client-auth.ts) called directly on the in-memory client
 * store: no HTTP. Secrets are stored as src/admin/clients.ts stores them, `sha256(secret)`.
 * Failures are asserted by OAuth code, status and, for invalid_client, the WWW-Authenticate
 * header (RFC 6749 §5.2).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { sha256 } from '../../src/crypto.js';
import { type AuthenticatedClient, authenticateClient } from '../../src/protocol/client-auth.js';
import { OAuthError, type OAuthErrorCode } from '../../src/protocol/errors.js';
import { assertWellFormed, readParams } from '../../src/protocol/params.js';
import { openMemoryStorage } from '../../src/storage/memory/index.js';
import type { Client } from '../../src/storage/types.js';

const T0 = 1_790_000_000_000;
const SECRET = 'Zx8_s3cr3t-vAlue~0123456789abcdefghijklmno';
const WWW_AUTHENTICATE = 'Basic realm="latchkey", error="invalid_client"';

const baseClient = (over: Partial<Client>): Client => ({
  clientId: 'x',
  name: 'Test app',
  type: 'web',
  redirectUris: ['https://app.example.com/callback'],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code', 'refresh_token'],
  tokenEndpointAuthMethod: 'client_secret_basic',
  secretHash: sha256(SECRET),
  consent: 'none',
  requirePkce: false,
  accessTokenTtl: null,
  refreshTokenTtl: null,
  refreshIdleTtl: null,
  refreshGrace: null,
  rotateRefreshTokens: true,
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

/** A confidential web app registered for client_secret_basic. */
const basicApp = baseClient({ clientId: 'basic-app' });
/** A confidential web app registered for client_secret_post. */
const postApp = baseClient({ clientId: 'post-app', tokenEndpointAuthMethod: 'client_secret_post' });
/** A public native app (token_endpoint_auth_method none, RFC 6749 §2.1 / §3.2.1). */
const publicApp = baseClient({
  clientId: 'public-app',
  type: 'native',
  redirectUris: ['http://127.0.0.1/callback'],
  tokenEndpointAuthMethod: 'none',
  secretHash: null,
  requirePkce: true,
});
/** Confidential, but with no secret stored (e.g. a damaged row). */
const noSecretApp = baseClient({ clientId: 'no-secret-app', secretHash: null });
/** A client_id and a secret with every character that form-urlencoding changes (RFC 6749 §2.3.1). */
const ODD_ID = 'odd app:1+%é';
const ODD_SECRET = 'p:ss w+rd%/=&é☃';
const oddApp = baseClient({ clientId: ODD_ID, secretHash: sha256(ODD_SECRET) });
const plusApp = baseClient({ clientId: 'plus-app', secretHash: sha256('a+b') });
const colonApp = baseClient({ clientId: 'colon-app', secretHash: sha256('se:cr:et') });

const storage = openMemoryStorage();
before(async () => {
  for (const c of [basicApp, postApp, publicApp, noSecretApp, oddApp, plusApp, colonApp])
    await storage.clients.create(c);
});
const getClient = (id: string) => storage.clients.get(id);

/** application/x-www-form-urlencoded, as RFC 6749 Appendix B defines it. */
const formEncode = (s: string): string => new URLSearchParams({ v: s }).toString().slice(2);
/** RFC 6749 §2.3.1: Basic base64(form-urlencode(id) ":" form-urlencode(secret)). */
const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`, 'utf8').toString('base64')}`;
/** Basic with the user-pass taken as is (no form-urlencoding). */
const basicRaw = (userPass: string): string => `Basic ${Buffer.from(userPass, 'utf8').toString('base64')}`;

const auth = (body: Record<string, unknown>, authorization?: string): Promise<AuthenticatedClient> =>
  authenticateClient(readParams(body), authorization, getClient);

async function authenticated(
  body: Record<string, unknown>,
  authorization: string | undefined,
  clientId: string,
  method: AuthenticatedClient['method'],
): Promise<void> {
  const r = await auth(body, authorization);
  assert.equal(r.client.clientId, clientId);
  assert.equal(r.method, method);
}

/** Refused with `code`; invalid_client is 401 with WWW-Authenticate, invalid_request 400 without. */
async function refused(
  p: Promise<unknown>,
  code: Extract<OAuthErrorCode, 'invalid_client' | 'invalid_request'>,
  description?: RegExp,
): Promise<OAuthError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof OAuthError, `an OAuthError, not ${String(caught)}`);
  const err = caught;
  assert.equal(err.code, code, err.description);
  if (description) assert.match(err.description, description);
  if (code === 'invalid_client') {
    assert.equal(err.status, 401);
    assert.deepEqual(err.headers, { 'www-authenticate': WWW_AUTHENTICATE });
  } else {
    assert.equal(err.status, 400);
    assert.deepEqual(err.headers, {});
  }
  return err;
}

/** The one description every credential failure shares (no probing for client_ids). */
const FAILED = /^Client authentication failed\.$/;

describe('client_secret_basic (RFC 6749 §2.3.1)', () => {
  test('the right id and secret in the Basic header authenticate', async () => {
    await authenticated({}, basic(basicApp.clientId, SECRET), basicApp.clientId, 'client_secret_basic');
  });
  test('the auth-scheme is case-insensitive (RFC 7235 §2.1) and may be followed by several spaces', async () => {
    const token = basic(basicApp.clientId, SECRET).slice('Basic '.length);
    for (const h of [`basic ${token}`, `BASIC ${token}`, `Basic   ${token}`, `Basic ${token} `]) {
      await authenticated({}, h, basicApp.clientId, 'client_secret_basic');
    }
  });
  test('id and secret are form-urlencoded before base64: spaces, +, %, :, & and non-ASCII survive', async () => {
    await authenticated({}, basic(ODD_ID, ODD_SECRET), ODD_ID, 'client_secret_basic');
    // Encoded with %20 instead of + for spaces: the same form-urlencoded text.
    const pct = `${encodeURIComponent(ODD_ID)}:${encodeURIComponent(ODD_SECRET)}`;
    await authenticated({}, basicRaw(pct), ODD_ID, 'client_secret_basic');
  });
  test('a secret sent without the form-urlencoding is decoded anyway: + becomes a space, a bad % fails', async () => {
    // An unencoded ':' in the secret is harmless (the id ends at the first ':')…
    await authenticated({}, basicRaw('colon-app:se:cr:et'), 'colon-app', 'client_secret_basic');
    // …but '+' is a form-encoded space, so an unencoded 'a+b' is read as 'a b'.
    await refused(auth({}, basicRaw('plus-app:a+b')), 'invalid_client', FAILED);
    await authenticated({}, basicRaw('plus-app:a%2Bb'), 'plus-app', 'client_secret_basic');
    // A lone '%' is no form-urlencoding at all.
    await refused(auth({}, basicRaw('plus-app:100%')), 'invalid_client', /not valid Basic credentials/);
  });
  test('a client_id in the body equal to the Basic one is allowed', async () => {
    await authenticated(
      { client_id: basicApp.clientId },
      basic(basicApp.clientId, SECRET),
      basicApp.clientId,
      'client_secret_basic',
    );
  });
  test('a client_id in the body that differs from the Basic one → invalid_request', async () => {
    await refused(
      auth({ client_id: postApp.clientId }, basic(basicApp.clientId, SECRET)),
      'invalid_request',
      /differs/,
    );
  });
  test('a wrong secret → invalid_client', async () => {
    await refused(auth({}, basic(basicApp.clientId, `${SECRET}x`)), 'invalid_client', FAILED);
    await refused(auth({}, basic(basicApp.clientId, '')), 'invalid_client', FAILED);
    await refused(auth({}, basic(basicApp.clientId, SECRET.toUpperCase())), 'invalid_client', FAILED);
  });
  test('malformed Basic credentials → invalid_client', async () => {
    for (const h of [
      'Basic',
      'Basic ',
      'Basic !!!!',
      'Basic a b',
      `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
      basicRaw(`:${SECRET}`), // empty client_id
      basicRaw(`%zz:${SECRET}`), // not form-urlencoded
      `Basic\t${basic(basicApp.clientId, SECRET).slice(6)}`,
      `Basic${basic(basicApp.clientId, SECRET).slice(6)}`, // no space after the scheme
    ]) {
      await refused(
        auth({}, h),
        'invalid_client',
        /not valid Basic credentials|Unsupported Authorization scheme/,
      );
    }
  });
  test('an unsupported Authorization scheme → invalid_client', async () => {
    for (const h of ['Digest username="basic-app"', 'Negotiate abc', 'xyz', '']) {
      await refused(
        auth({ client_id: publicApp.clientId }, h),
        'invalid_client',
        /Unsupported Authorization scheme/,
      );
    }
  });
});

describe('client_secret_post (RFC 6749 §2.3.1)', () => {
  test('client_id and client_secret in the body authenticate', async () => {
    await authenticated(
      { client_id: postApp.clientId, client_secret: SECRET },
      undefined,
      postApp.clientId,
      'client_secret_post',
    );
  });
  test('a wrong or empty secret → invalid_client', async () => {
    await refused(auth({ client_id: postApp.clientId, client_secret: 'nope' }), 'invalid_client', FAILED);
    await refused(auth({ client_id: postApp.clientId, client_secret: '' }), 'invalid_client', FAILED);
  });
  test('a secret without a client_id → invalid_client', async () => {
    await refused(auth({ client_secret: SECRET }), 'invalid_client', /client_id is missing/);
  });
});

describe('none: public clients send only client_id (RFC 6749 §3.2.1)', () => {
  test('a public client is identified by client_id alone', async () => {
    await authenticated({ client_id: publicApp.clientId }, undefined, publicApp.clientId, 'none');
  });
  test('a public client sending a secret, in the body or a Basic header → invalid_client', async () => {
    await refused(
      auth({ client_id: publicApp.clientId, client_secret: 'anything' }),
      'invalid_client',
      FAILED,
    );
    await refused(auth({ client_id: publicApp.clientId, client_secret: '' }), 'invalid_client', FAILED);
    await refused(auth({}, basic(publicApp.clientId, '')), 'invalid_client', FAILED);
    await refused(auth({}, basic(publicApp.clientId, 'anything')), 'invalid_client', FAILED);
  });
  test('no client_id and no credentials → invalid_client', async () => {
    await refused(auth({}), 'invalid_client', /client_id is missing/);
    await refused(auth({ client_id: '' }), 'invalid_client', /client_id is missing/);
  });
});

describe('the method used against the one registered', () => {
  test('a confidential client may not use none (no secret at all) → invalid_client', async () => {
    await refused(auth({ client_id: basicApp.clientId }), 'invalid_client', FAILED);
    await refused(auth({ client_id: postApp.clientId }), 'invalid_client', FAILED);
  });
  test('a confidential client may use either secret method, whichever it registered (as Keycloak allows)', async () => {
    await authenticated(
      { client_id: basicApp.clientId, client_secret: SECRET },
      undefined,
      basicApp.clientId,
      'client_secret_post',
    );
    await authenticated({}, basic(postApp.clientId, SECRET), postApp.clientId, 'client_secret_basic');
  });
  test('a confidential client with no stored secret never authenticates → invalid_client', async () => {
    await refused(auth({}, basic(noSecretApp.clientId, SECRET)), 'invalid_client', FAILED);
    await refused(auth({ client_id: noSecretApp.clientId, client_secret: SECRET }), 'invalid_client', FAILED);
    await refused(auth({ client_id: noSecretApp.clientId }), 'invalid_client', FAILED);
  });
});

describe('more than one method (RFC 6749 §2.3: MUST NOT use more than one)', () => {
  test('Basic header and client_secret in the body → invalid_request (400, no WWW-Authenticate)', async () => {
    await refused(
      auth({ client_secret: SECRET }, basic(basicApp.clientId, SECRET)),
      'invalid_request',
      /exactly one client authentication method/,
    );
    await refused(
      auth({ client_id: basicApp.clientId, client_secret: SECRET }, basic(basicApp.clientId, SECRET)),
      'invalid_request',
    );
    // Refused before the header is even parsed.
    await refused(auth({ client_secret: SECRET }, 'Basic !!!'), 'invalid_request');
  });
  test('client_assertion (RFC 7523): refused without assertion deps, beside a secret, or for a secret client', async () => {
    const assertion = {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: 'eyJ.e30.sig',
    };
    // Without what assertions are checked against (these unit deps), they are refused.
    await refused(auth(assertion), 'invalid_client', /client_assertion/);
    await refused(
      auth({ client_assertion_type: assertion.client_assertion_type }),
      'invalid_client',
      /client_assertion/,
    );
    // RFC 6749 §2.3: more than one method is a malformed request.
    await refused(
      auth({ ...assertion, client_id: postApp.clientId, client_secret: SECRET }),
      'invalid_request',
      /exactly one/,
    );
    await refused(auth(assertion, basic(basicApp.clientId, SECRET)), 'invalid_request', /exactly one/);
  });
  test('a Bearer or DPoP Authorization header is not client authentication: the body method decides', async () => {
    await authenticated({ client_id: publicApp.clientId }, 'Bearer abc.def', publicApp.clientId, 'none');
    await authenticated(
      { client_id: postApp.clientId, client_secret: SECRET },
      'DPoP abc.def',
      postApp.clientId,
      'client_secret_post',
    );
    await refused(auth({ client_id: basicApp.clientId }, 'Bearer abc.def'), 'invalid_client', FAILED);
  });
});

describe('unknown clients and what failures reveal', () => {
  test('an unknown client_id → invalid_client, by every method', async () => {
    await refused(auth({}, basic('nobody', SECRET)), 'invalid_client', FAILED);
    await refused(auth({ client_id: 'nobody', client_secret: SECRET }), 'invalid_client', FAILED);
    await refused(auth({ client_id: 'nobody' }), 'invalid_client', FAILED);
  });
  test('unknown client and wrong secret fail alike: same code, description, status and headers', async () => {
    const unknown = await refused(auth({}, basic('nobody', SECRET)), 'invalid_client');
    const wrong = await refused(auth({}, basic(basicApp.clientId, 'wrong')), 'invalid_client');
    assert.deepEqual(unknown.toJSON(), wrong.toJSON());
    assert.deepEqual(unknown.headers, wrong.headers);
    assert.equal(unknown.detail, undefined);
  });
});

describe('oversized and repeated values', () => {
  /** What src/http/form.ts does before authenticating: refuse repeated or malformed parameters. */
  const viaForm = async (body: Record<string, unknown>, authorization?: string) => {
    const params = readParams(body);
    assertWellFormed(params);
    return authenticateClient(params, authorization, getClient);
  };

  test('an oversized client_id or client_secret → invalid_request before authentication (as /token does)', async () => {
    const long = 'x'.repeat(4097);
    await refused(viaForm({ client_id: long }), 'invalid_request', /too long or malformed: client_id/);
    await refused(
      viaForm({ client_id: postApp.clientId, client_secret: long }),
      'invalid_request',
      /client_secret/,
    );
    await refused(
      viaForm({ client_id: publicApp.clientId, client_secret: long }),
      'invalid_request',
      /client_secret/,
    );
  });
  test('a repeated client_id or client_secret → invalid_request before authentication (RFC 6749 §3.2)', async () => {
    await refused(
      viaForm({ client_id: [publicApp.clientId, publicApp.clientId] }),
      'invalid_request',
      /more than once/,
    );
    await refused(
      viaForm({ client_id: postApp.clientId, client_secret: [SECRET, SECRET] }),
      'invalid_request',
      /more than once/,
    );
  });
  test('authenticateClient itself refuses oversized or repeated credentials (invalid_request)', async () => {
    const long = 'x'.repeat(4097);
    await refused(auth({ client_id: long }), 'invalid_request', /client_id/);
    await refused(
      auth({ client_id: postApp.clientId, client_secret: long }),
      'invalid_request',
      /client_secret/,
    );
    // A public client with a secret the parser dropped is not a public client without one.
    await refused(
      auth({ client_id: publicApp.clientId, client_secret: long }),
      'invalid_request',
      /client_secret/,
    );
    await refused(
      auth({ client_id: [publicApp.clientId, publicApp.clientId] }),
      'invalid_request',
      /more than once/,
    );
  });
  test('oversized Basic credentials are refused like any others → invalid_client', async () => {
    await refused(auth({}, basic('i'.repeat(20_000), SECRET)), 'invalid_client', FAILED);
    await refused(auth({}, basic(basicApp.clientId, 's'.repeat(20_000))), 'invalid_client', FAILED);
    await refused(auth({}, `Basic ${'A'.repeat(40_000)}`), 'invalid_client', /not valid Basic credentials/);
  });
});
