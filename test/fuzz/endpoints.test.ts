/**
 * Property-based fuzzing of /authorize (GET and POST), /token and /par over real HTTP against a real
 * test server (test/helpers/fuzz.ts has the machinery, the seed and the replay).
 *
 * Whatever arrives: no 5xx, no stack trace or internals, no redirect anywhere but the client's
 * registered redirect URI. /token answers RFC 6749 §5.2 JSON errors from its list, or a 200 that
 * the request earned (the real, unspent code with its verifier, the real refresh token, the
 * client's real secret). /par answers the same JSON errors (RFC 9126 §2.3: those of RFC 6749 §5.2
 * and §4.1.2.1), or a 201 with a request_uri for an authenticated client's acceptable request. /authorize answers an error page, the sign-in (or consent) page, or an
 * authorization response to the redirect URI — with `code` only for a signed-in person and a
 * request that asked for one properly, or an error of RFC 6749 §4.1.2.1 / OIDC Core §3.1.2.6.
 *
 * The requests start from valid ones — registered client_ids and redirect URIs, real PKCE
 * challenges, known scopes, a signed-in session cookie, real codes and refresh tokens — and then
 * change a few things (values, repeats, encodings, broken escapes, Unicode, NULs, lengths around
 * the caps, content types, bodies), so that the checks deep in each endpoint are reached too.
 * A new endpoint is a row of `endpoints` and a vocabulary of its parameters.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Browser } from '../helpers/browser.js';
import { basic, EXAMPLE_CHALLENGE, getCode, type Pkce, pkce, postToken } from '../helpers/flow.js';
import {
  type Answer,
  assertAuthorizationParams,
  assertNoInternals,
  bodyArb,
  checkProperty,
  closeFuzzAgent,
  contentTypeArb,
  describeExchange,
  type Endpoint,
  type Field,
  type FuzzRequest,
  field,
  garbageText,
  HEADER_BUDGET,
  type HeaderValue,
  header,
  headerBytes,
  headerText,
  MARKUP,
  mutatedFields,
  oauthJsonAnswer,
  randomFields,
  readAuthorization,
  refArb,
  type Sent,
  sameRedirectUri,
  send,
  separatorsArb,
  type Text,
  type Values,
  type Vocabulary,
} from '../helpers/fuzz.js';
import { createClient, createUser, startTestServer, type TestServer } from '../helpers/server.js';

/** RFC 6749 §5.2, and RFC 8707 §2's invalid_target (a bad or unknown `resource`). */
const TOKEN_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
] as const;

/**
 * RFC 9126 §2.3: the token endpoint's (RFC 6749 §5.2), the authorization endpoint's (§4.1.2.1),
 * and OIDC Core §6's request_not_supported (a `request` object).
 */
const PAR_ERRORS = [
  ...TOKEN_ERRORS,
  'unsupported_response_type',
  'access_denied',
  'request_not_supported',
] as const;

/** PKCE pairs fixed for the generators, so that a seed gives the same requests every time. */
const FIXED: [Pkce, Pkce, Pkce] = ['one', 'two', 'three'].map((word) => {
  const verifier = `fuzz-verifier-${word}-`.padEnd(43, 'x');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}) as [Pkce, Pkce, Pkce];

type ClientKey = 'native' | 'single' | 'web' | 'spa' | 'service';

interface ClientInfo {
  key: ClientKey;
  clientId: string;
  secret?: string;
  redirectUris: string[];
  /** The first of them. */
  redirectUri: string;
  public: boolean;
  requirePkce: boolean;
}

interface World {
  server: TestServer;
  clients: Record<ClientKey, ClientInfo>;
  byId: Map<string, ClientInfo>;
  /** What refs name everywhere: client ids, secrets, session cookies. */
  values: Record<string, string>;
}

describe('fuzzing /authorize, /token and /par', () => {
  let w: World;

  before(async () => {
    const server = await startTestServer();
    await createUser(server, 'alice');
    await createUser(server, 'bob');
    const made = async (
      key: ClientKey,
      opts: Parameters<typeof createClient>[1] & { redirectUris: string[] },
    ): Promise<ClientInfo> => {
      const c = await createClient(server, opts);
      const type = opts.type ?? 'native';
      return {
        key,
        clientId: c.clientId,
        ...(c.secret ? { secret: c.secret } : {}),
        redirectUris: opts.redirectUris,
        redirectUri: opts.redirectUris[0] ?? '',
        public: type === 'native' || type === 'spa',
        requirePkce: opts.requirePkce ?? true,
      };
    };
    const clients: Record<ClientKey, ClientInfo> = {
      native: await made('native', { redirectUris: ['http://127.0.0.1/callback', 'com.example.fuzz:/cb'] }),
      single: await made('single', { redirectUris: ['http://[::1]:8123/one'] }),
      web: await made('web', {
        type: 'web',
        redirectUris: ['https://web.example/cb?tenant=a'],
        consent: 'required',
        requirePkce: false,
      }),
      // Consent required and never given: signed in, alice is asked (or told consent_required).
      spa: await made('spa', { type: 'spa', redirectUris: ['https://spa.example/cb'], consent: 'required' }),
      service: await made('service', {
        type: 'service',
        redirectUris: [],
        allowedScopes: ['api:read', 'api:write'],
      }),
    };
    // alice signs in through the real form and consents to the web application once.
    const browser = new Browser(server.url);
    await getCode(server, clients.native, pkce(), {}, { browser });
    await getCode(server, clients.web, pkce(), { scope: 'openid profile email offline_access' }, { browser });
    const alice = browser.cookies.get('latchkey_session');
    assert.ok(alice, 'alice is signed in');
    // bob signs in, then is disabled: his cookie names an ended session.
    const bobBrowser = new Browser(server.url);
    await getCode(server, clients.native, pkce(), {}, { browser: bobBrowser, username: 'bob' });
    const bob = bobBrowser.cookies.get('latchkey_session');
    assert.ok(bob, 'bob was signed in');
    await server.ctx.users.setDisabled('bob', true);
    const values: Record<string, string> = { alice, bob };
    for (const c of Object.values(clients)) {
      values[`${c.key}_id`] = c.clientId;
      if (c.secret) values[`${c.key}_secret`] = c.secret;
    }
    w = { server, clients, byId: new Map(Object.values(clients).map((c) => [c.clientId, c])), values };
  });
  after(async () => {
    await closeFuzzAgent();
    await w?.server.cleanup();
  });

  // -------------------------------------------------------------------------------------------
  // The endpoints and their rules

  /**
   * The endpoints and the rules of their answers. A POST form endpoint with client
   * authentication and JSON errors (as /par) is one more row: oauthJsonAnswer with its error
   * list, success status and success rule; then one `fuzz(...)` line below with its requests.
   */
  const ENDPOINTS = {
    getAuthorize: { method: 'GET', path: '/authorize', carries: 'query', check: authorizationAnswer },
    postAuthorize: { method: 'POST', path: '/authorize', carries: 'body', check: authorizationAnswer },
    token: {
      method: 'POST',
      path: '/token',
      carries: 'body',
      check: oauthJsonAnswer({ errors: TOKEN_ERRORS, success: tokenSuccess }),
    },
    par: {
      method: 'POST',
      path: '/par',
      carries: 'body',
      check: oauthJsonAnswer({ errors: PAR_ERRORS, successStatus: 201, success: parSuccess }),
    },
    deviceAuthorization: {
      method: 'POST',
      path: '/device_authorization',
      carries: 'body',
      // RFC 8628 §3.1: no application of this world is allowed the device grant, so never codes.
      check: oauthJsonAnswer({
        errors: TOKEN_ERRORS,
        success: (_json, _sent, where) => assert.fail(`codes for a client without the grant: ${where}`),
      }),
    },
  } satisfies Record<string, Endpoint>;

  /** Whether the Cookie header carried alice's live session. */
  const signedIn = (sent: Sent) =>
    (sent.headers['cookie'] ?? '').split(';').some((c) => {
      const [name, ...rest] = c.split('=');
      const value = rest
        .join('=')
        .trim()
        .replace(/^"(.*)"$/, '$1');
      return name!.trim() === 'latchkey_session' && value === w.values['alice'];
    });

  /**
   * /authorize: an error page unless the request names one registered client (not a service) and
   * a redirect URI it registered (or none, when it has only one); then the sign-in page, or an
   * authorization response to exactly that URI.
   */
  async function authorizationAnswer(a: Answer, sent: Sent): Promise<void> {
    const where = describeExchange(a, sent);
    assertNoInternals(a, where);
    const p = sent.params;
    const client = p.count('client_id') === 1 ? w.byId.get(p.only('client_id') ?? '') : undefined;
    const usable = client && client.key !== 'service' ? client : undefined;
    let target: string | undefined;
    if (usable) {
      const asked = p.only('redirect_uri');
      if (p.count('redirect_uri') === 0 && usable.redirectUris.length === 1) target = usable.redirectUris[0];
      else if (asked !== undefined && usable.redirectUris.some((r) => sameRedirectUri(asked, r)))
        target = asked;
    }
    const uriOf = (location: string) => {
      if (target === undefined) return undefined;
      const sep = target.includes('?') ? '&' : '?';
      return location === target || location.startsWith(target + sep) ? target : undefined;
    };
    const outcome = readAuthorization(a, where, uriOf);
    const prompt = (p.only('prompt') ?? '').split(' ');
    if (outcome.kind === 'interaction') {
      assert.ok(target !== undefined, `a sign-in page only for a known client and redirect URI: ${where}`);
      assert.ok(!prompt.includes('none'), `prompt=none never shows a page: ${where}`);
      await assertInteractionPage(a, sent, outcome.location, where);
      return;
    }
    if (outcome.kind !== 'response') return;
    assertAuthorizationParams(outcome.params, w.server.issuer, where, outcome.via);
    // state comes back exactly as sent, when sent once, readable and not too long.
    const state = p.count('state') === 1 ? p.only('state') : undefined;
    const echoable = state !== undefined && !state.includes('\u0000') && state.length <= 2048;
    assert.equal(outcome.params.get('state'), echoable ? state : null, `state: ${where}`);
    if (outcome.params.get('code') === null) return;
    // A code: a signed-in person, response_type=code, PKCE S256 where required, no forced sign-in.
    assert.ok(signedIn(sent), `a code without a signed-in session: ${where}`);
    assert.equal(p.only('response_type'), 'code', `a code for response_type=code only: ${where}`);
    if (usable!.requirePkce) {
      assert.equal(p.only('code_challenge_method'), 'S256', `PKCE S256: ${where}`);
      assert.match(p.only('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, `a code_challenge: ${where}`);
    }
    assert.ok(!prompt.includes('login') && !prompt.includes('consent'), `prompt asks for a page: ${where}`);
    const maxAge = p.only('max_age');
    assert.ok(maxAge === undefined || Number(maxAge) !== 0, `max_age=0 asks for a sign-in: ${where}`);
  }

  /**
   * The page behind a sign-in redirect opens (the sign-in form, or the consent form for a
   * signed-in person) with the cookies the redirect set: 200, HTML, a form with its CSRF token.
   */
  async function assertInteractionPage(
    a: Answer,
    sent: Sent,
    location: string,
    where: string,
  ): Promise<void> {
    const set = a.headers['set-cookie'];
    const b = new Browser(w.server.url);
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const pair = c.split(';')[0]!;
      const eq = pair.indexOf('=');
      b.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    if (signedIn(sent)) b.cookies.set('latchkey_session', w.values['alice']!);
    const page = await b.get(location);
    const type = page.headers.get('content-type') ?? '';
    assertNoInternals({ status: page.status, headers: { 'content-type': type }, body: page.body }, where);
    assert.equal(page.status, 200, `the sign-in page opens: ${page.body.slice(0, 200)} ${where}`);
    assert.match(type, /^text\/html/, where);
    assert.match(page.body, /name="csrf"/, `the sign-in page has its form: ${where}`);
  }

  /** /token 200: a JSON token response, and the request carried what it takes to earn it. */
  function tokenSuccess(json: Record<string, unknown>, sent: Sent, where: string, a: Answer): void {
    // RFC 6749 §5.1: Cache-Control: no-store (checked for every answer) and Pragma: no-cache.
    assert.equal(header(a, 'pragma'), 'no-cache', `Pragma: no-cache: ${where}`);
    assert.equal(typeof json['access_token'], 'string', where);
    assert.equal(json['token_type'], 'Bearer', where);
    assert.equal(typeof json['expires_in'], 'number', where);
    const p = sent.params;
    const v = sent.values;
    const owner = w.clients[(v['owner'] ?? 'service') as ClientKey];
    const real = v['owner'] !== undefined;
    const authenticated = (c: ClientInfo) =>
      c.public
        ? p.only('client_id') === c.clientId && sent.basic === undefined
        : (sent.basic?.id === c.clientId && sent.basic.secret === c.secret) ||
          (p.only('client_secret') === c.secret && p.only('client_id') === c.clientId);
    switch (p.only('grant_type')) {
      case 'authorization_code':
        assert.ok(real && p.only('code') === v['code'], `the real code: ${where}`);
        assert.notEqual(v['spent'], 'code', `a code redeemed twice: ${where}`);
        if (v['pkce'] === 'yes') assert.equal(p.only('code_verifier'), v['verifier'], `PKCE: ${where}`);
        assert.ok(authenticated(owner), `the code's own client, authenticated: ${where}`);
        break;
      case 'refresh_token':
        assert.ok(real && p.only('refresh_token') === v['refresh'], `the real token: ${where}`);
        assert.ok(authenticated(owner), `the token's own client, authenticated: ${where}`);
        break;
      case 'client_credentials':
        assert.ok(authenticated(w.clients.service), `the service's real secret: ${where}`);
        break;
      default:
        assert.fail(`a 200 for grant_type ${String(p.only('grant_type'))}: ${where}`);
    }
  }

  /**
   * /par 201 (RFC 9126 §2.2): a fresh request_uri and its lifetime, for a client that
   * authenticated (as at /token) and a request /authorize would take: one known client (not a
   * service), a redirect URI it registered (or none when it has one), response_type=code, PKCE
   * S256 where required.
   */
  function parSuccess(json: Record<string, unknown>, sent: Sent, where: string): void {
    assert.match(String(json['request_uri']), /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/, where);
    assert.equal(json['expires_in'], 60, where);
    for (const k of Object.keys(json))
      assert.ok(['request_uri', 'expires_in'].includes(k), `member ${k}: ${where}`);
    const p = sent.params;
    const byBasic = sent.basic ? w.byId.get(sent.basic.id) : undefined;
    const c = byBasic ?? w.byId.get(p.only('client_id') ?? '');
    assert.ok(c && c.key !== 'service', `a known client that signs people in: ${where}`);
    if (c.public) assert.ok(p.only('client_id') === c.clientId && !sent.basic, `public: client_id: ${where}`);
    else
      assert.ok(
        (sent.basic?.secret === c.secret &&
          (p.count('client_id') === 0 || p.only('client_id') === c.clientId)) ||
          (p.only('client_secret') === c.secret && p.only('client_id') === c.clientId),
        `the client's real secret: ${where}`,
      );
    const asked = p.only('redirect_uri');
    assert.ok(
      asked === undefined
        ? c.redirectUris.length === 1
        : c.redirectUris.some((r) => sameRedirectUri(asked, r)),
      `a registered redirect URI: ${where}`,
    );
    assert.equal(p.only('response_type'), 'code', `response_type=code: ${where}`);
    assert.equal(p.count('request_uri'), 0, `no request_uri in a pushed request: ${where}`);
    if (c.requirePkce) {
      assert.equal(p.only('code_challenge_method'), 'S256', `PKCE S256: ${where}`);
      assert.match(p.only('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, `a code_challenge: ${where}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Vocabularies: each parameter's values, valid-looking and not

  const ref = (name: string): Text => ({ ref: name, edit: { kind: 'none' } });

  /** Scope strings: known and unknown words, odd separators and characters. */
  const scopeArb: fc.Arbitrary<string> = fc
    .tuple(
      fc.array(
        fc.constantFrom(
          'openid',
          'openid',
          'profile',
          'email',
          'offline_access',
          'api:read',
          'unknown',
          'OPENID',
        ),
        { maxLength: 5 },
      ),
      fc.constantFrom(' ', ' ', ' ', '  ', '+', '\t', ','),
      fc.constantFrom('', '', '', ' '),
      fc.constantFrom('', '', '', '', 'a"b', 'x\\y', 'é'),
    )
    .map(([words, sep, pad, bad]) => pad + [...words, ...(bad ? [bad] : [])].join(sep) + pad);

  const challengeArb = (): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(EXAMPLE_CHALLENGE, FIXED[0].challenge, FIXED[1].challenge) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          EXAMPLE_CHALLENGE.slice(0, 42),
          `${EXAMPLE_CHALLENGE}A`,
          `${EXAMPLE_CHALLENGE.slice(0, 42)}+`,
          `${EXAMPLE_CHALLENGE.slice(0, 42)}=`,
          `${EXAMPLE_CHALLENGE.slice(0, 42)}/`,
          `${EXAMPLE_CHALLENGE.slice(0, 42)}é`,
          'x'.repeat(128),
          '',
        ),
      },
    );

  /** Redirect URIs a client might send: registered ones, their near misses, other hosts. */
  const redirectUriArb = (): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...Object.values(w.clients).flatMap((c) => c.redirectUris)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'http://127.0.0.1:5173/callback',
          'http://127.0.0.1:65535/callback',
          'http://127.0.0.1:65536/callback',
          'http://127.0.0.1:0/callback',
          'http://127.0.0.1:/callback',
          'http://127.0.0.1/callback/',
          'http://127.0.0.1/callback?x=1',
          'http://127.0.0.1/callback#frag',
          'http://127.0.0.1/Callback',
          'HTTP://127.0.0.1/callback',
          'http://localhost/callback',
          'http://[::1]/callback',
          'http://[::1]/one',
          'http://[::1]:9/one',
          'http://127.0.0.1:8123/one',
          'http://127.0.0.1@evil.example/callback',
          'http://evil.example/callback',
          'http://127.0.0.1.evil.example/callback',
          'https://web.example/cb',
          'https://web.example/cb?tenant=b',
          'https://web.example/cb?tenant=a&x=1',
          'https://web.example/cb?tenant=a#x',
          'https://WEB.example/cb?tenant=a',
          'https://spa.example/cb/../cb',
          'https://spa.example/cb%2F',
          'com.example.fuzz:/cb/',
          'com.example.fuzz://cb',
          '//evil.example/',
          'javascript:alert(1)',
          ' http://127.0.0.1/callback',
          'http://127.0.0.1/callback ',
          '',
        ),
      },
    );

  const clientIdArb = (): fc.Arbitrary<Text> =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...Object.values(w.clients).map((c) => c.clientId)) },
      { weight: 2, arbitrary: fc.constantFrom(...Object.keys(w.clients)).chain((k) => refArb(`${k}_id`)) },
      { weight: 1, arbitrary: fc.constantFrom('unknown-client', '', ' ') },
    );

  const shortText = fc.string({ minLength: 1, maxLength: 16 });

  function authorizeVocabulary(): Vocabulary {
    return {
      client_id: { like: clientIdArb() },
      redirect_uri: { like: redirectUriArb() },
      response_type: {
        like: fc.constantFrom(
          'code',
          'code',
          'token',
          'id_token',
          'code id_token',
          'CODE',
          ' code',
          'none',
          '',
        ),
      },
      scope: { like: scopeArb },
      state: {
        like: fc.oneof(
          { weight: 4, arbitrary: shortText },
          { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }) },
          { weight: 1, arbitrary: fc.constantFrom(2047, 2048, 2049, 3000).map((n) => 's'.repeat(n)) },
          { weight: 1, arbitrary: fc.constantFrom(MARKUP, '"><x y="', "'&amp;") },
        ),
      },
      nonce: {
        like: fc.oneof(
          { weight: 3, arbitrary: shortText },
          { weight: 1, arbitrary: fc.constantFrom(511, 512, 513).map((n) => 'n'.repeat(n)) },
        ),
      },
      code_challenge: { like: challengeArb() },
      code_challenge_method: { like: fc.constantFrom('S256', 'S256', 'plain', 's256', 'S512', '') },
      response_mode: {
        like: fc.constantFrom('query', 'form_post', 'form_post', 'fragment', 'jwt', 'FORM_POST', ''),
      },
      prompt: {
        like: fc.constantFrom(
          'none',
          'login',
          'consent',
          'select_account',
          'none login',
          'login consent',
          'consent  login',
          'none none',
          '',
          ' ',
        ),
      },
      max_age: {
        like: fc.constantFrom(
          '0',
          '00',
          '1',
          '3600',
          '999999999',
          '1000000000',
          '-1',
          '1.5',
          '1e3',
          ' 1',
          '',
        ),
      },
      login_hint: { like: fc.constantFrom('alice', 'bob', 'nobody', '', 'a'.repeat(300), MARKUP) },
      request: { like: fc.constant('eyJhbGciOiJub25lIn0.e30.'), weight: 1 },
      request_uri: { like: fc.constant('urn:ietf:params:oauth:request_uri:abc'), weight: 1 },
    };
  }

  /** A valid-looking authorization request for one client (or for none), before mutations. */
  function authorizeBase(): fc.Arbitrary<Field[]> {
    const key = fc.oneof(
      { weight: 5, arbitrary: fc.constant<ClientKey>('native') },
      { weight: 3, arbitrary: fc.constant<ClientKey>('web') },
      { weight: 2, arbitrary: fc.constantFrom<ClientKey>('single', 'spa') },
      { weight: 1, arbitrary: fc.constant<ClientKey>('service') },
    );
    return fc
      .record({
        key,
        uri: fc.nat(),
        omitUri: fc.boolean(),
        scope: fc.constantFrom('openid', 'openid profile email', 'openid offline_access', 'profile', ''),
        state: fc.option(fc.string({ minLength: 1, maxLength: 16 }), { nil: undefined }),
        nonce: fc.option(fc.string({ minLength: 1, maxLength: 16 }), { nil: undefined }),
        challenge: fc.constantFrom(EXAMPLE_CHALLENGE, FIXED[0].challenge),
        mode: fc.constantFrom(undefined, undefined, undefined, 'query', 'form_post'),
        prompt: fc.constantFrom(undefined, undefined, undefined, 'none', 'login', 'consent'),
      })
      .map((r) => {
        const c = w.clients[r.key];
        const fields = [
          field('client_id', c.clientId),
          field('response_type', 'code'),
          field('code_challenge', r.challenge),
          field('code_challenge_method', 'S256'),
        ];
        if (!(r.omitUri && c.redirectUris.length === 1) && c.redirectUris.length > 0)
          fields.splice(1, 0, field('redirect_uri', c.redirectUris[r.uri % c.redirectUris.length]!));
        if (r.scope) fields.push(field('scope', r.scope));
        if (r.state !== undefined) fields.push(field('state', r.state));
        if (r.nonce !== undefined) fields.push(field('nonce', r.nonce));
        if (r.mode !== undefined) fields.push(field('response_mode', r.mode));
        if (r.prompt !== undefined) fields.push(field('prompt', r.prompt));
        return fields;
      });
  }

  /** Cookie headers: none, alice's session (often), bob's ended one, forged, doubled, huge. */
  const cookieArb: fc.Arbitrary<HeaderValue | undefined> = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: fc.constant(['latchkey_session=', ref('alice')]) },
    { weight: 2, arbitrary: refArb('alice', { header: true }).map((r) => ['latchkey_session=', r]) },
    { weight: 1, arbitrary: fc.constant(['latchkey_session=', ref('bob')]) },
    { weight: 1, arbitrary: fc.constant(['latchkey_session=x; latchkey_session=', ref('alice')]) },
    { weight: 1, arbitrary: fc.constant(['latchkey_session=', ref('alice'), '; latchkey_session=x']) },
    { weight: 1, arbitrary: headerText.map((t) => [`latchkey_session=${t}`]) },
    { weight: 1, arbitrary: headerText },
    { weight: 1, arbitrary: fc.constant(`latchkey_session=${'A'.repeat(5000)}`) },
  );

  /** An /authorize request: mutated valid ones mostly, random fields sometimes. */
  function authorizeRequest(carrier: 'query' | 'body'): fc.Arbitrary<FuzzRequest> {
    const fields = fc.oneof(
      { weight: 14, arbitrary: authorizeBase().chain((base) => mutatedFields(base, authorizeVocabulary())) },
      { weight: 1, arbitrary: randomFields },
    );
    const body = carrier === 'body';
    return fc
      .record({
        fields,
        separators: separatorsArb,
        cookie: cookieArb,
        type: body ? contentTypeArb : fc.constant(undefined),
        body: body ? bodyArb : fc.constant(undefined),
      })
      .map(({ fields, separators, cookie, type, body }) => {
        const headers: Record<string, HeaderValue> = {};
        if (cookie !== undefined) headers['cookie'] = cookie;
        if (type !== undefined) headers['content-type'] = type;
        return { fields, separators, headers, ...(body ? { body } : {}) };
      })
      .filter((r) => headerBytes(r, carrier) < HEADER_BUDGET);
  }

  // /par

  /**
   * A pushed authorization request (RFC 9126 §2.1): /authorize's parameters for one client, with
   * its authentication as at /token — client_id for public clients, Basic or client_secret for
   * the web app — then mutated; random fields sometimes.
   */
  function parRequest(): fc.Arbitrary<FuzzRequest> {
    const vocabulary: Vocabulary = {
      ...authorizeVocabulary(),
      client_secret: { like: fc.oneof(refArb('web_secret'), fc.constantFrom('', 'secret')), weight: 2 },
    };
    const fields = fc.record({ base: authorizeBase(), post: fc.boolean() }).chain(({ base, post }) => {
      const id = base.find((f) => f.name === 'client_id')?.value;
      const c = typeof id === 'string' ? w.byId.get(id) : undefined;
      const confidential = c !== undefined && !c.public;
      // Basic carries the client_id: the body leaves it out (it may also repeat it).
      const withAuth = confidential
        ? post
          ? [...base, field('client_secret', ref(`${c.key}_secret`))]
          : base.filter((f) => f.name !== 'client_id')
        : base;
      return fc.record({
        fields: fc.oneof(
          { weight: 14, arbitrary: mutatedFields(withAuth, vocabulary) },
          { weight: 1, arbitrary: randomFields },
        ),
        auth:
          confidential && !post
            ? authArb(c.key)
            : fc.oneof(
                { weight: 5, arbitrary: fc.constant(undefined) },
                { weight: 1, arbitrary: authArb(undefined) },
              ),
      });
    });
    return fc
      .record({ fields, separators: separatorsArb, type: contentTypeArb, body: bodyArb })
      .map(({ fields: { fields, auth }, separators, type, body }) => {
        const headers: Record<string, HeaderValue> = {};
        if (auth !== undefined) headers['authorization'] = auth;
        if (type !== undefined) headers['content-type'] = type;
        return { fields, separators, headers, body };
      })
      .filter((r) => headerBytes(r, 'body') < HEADER_BUDGET);
  }

  // /token

  /** How the request gets its code or refresh token, made fresh for each run. */
  type Scenario =
    | { kind: 'code'; owner: 'native' | 'web'; pkce: boolean; omitUri: boolean; spent: boolean }
    | { kind: 'refresh'; owner: 'native' | 'web'; spent: boolean }
    | { kind: 'service' }
    | { kind: 'garbage' };

  const scenarioArb: fc.Arbitrary<Scenario> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({
          owner: fc.constantFrom<'native' | 'web'>('native', 'web'),
          pkce: fc.boolean(),
          omitUri: fc.boolean(),
          spent: fc.boolean(),
        })
        .map<Scenario>((s) => ({
          kind: 'code',
          owner: s.owner,
          pkce: s.owner === 'native' || s.pkce,
          omitUri: s.owner === 'web' && s.omitUri,
          spent: s.spent,
        })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({ owner: fc.constantFrom<'native' | 'web'>('native', 'web'), spent: fc.boolean() })
        .map<Scenario>((s) => ({ kind: 'refresh', ...s })),
    },
    { weight: 2, arbitrary: fc.constant<Scenario>({ kind: 'service' }) },
    { weight: 1, arbitrary: fc.constant<Scenario>({ kind: 'garbage' }) },
  );

  function tokenVocabulary(): Vocabulary {
    return {
      grant_type: {
        like: fc.constantFrom(
          'authorization_code',
          'refresh_token',
          'client_credentials',
          'password',
          'implicit',
          'urn:ietf:params:oauth:grant-type:device_code',
          'urn:ietf:params:oauth:grant-type:token-exchange',
          'Authorization_Code',
          'authorization_code ',
          '',
        ),
      },
      code: {
        like: fc.oneof({ weight: 4, arbitrary: refArb('code') }, { weight: 1, arbitrary: fc.constant('') }),
      },
      code_verifier: {
        like: fc.oneof(
          { weight: 4, arbitrary: refArb('verifier') },
          { weight: 1, arbitrary: fc.constant(FIXED[2].verifier) },
          { weight: 1, arbitrary: fc.constantFrom('a'.repeat(42), 'a'.repeat(129), '~'.repeat(43), '') },
        ),
      },
      redirect_uri: { like: redirectUriArb() },
      client_id: { like: clientIdArb() },
      client_secret: {
        like: fc.oneof(refArb('web_secret'), refArb('service_secret'), fc.constantFrom('', 'secret')),
      },
      refresh_token: {
        like: fc.oneof(
          { weight: 4, arbitrary: refArb('refresh') },
          { weight: 1, arbitrary: fc.constant('') },
        ),
      },
      scope: { like: fc.oneof(scopeArb, fc.constantFrom('api:read', 'api:write api:read', 'api:admin')) },
      client_assertion_type: {
        like: fc.constantFrom('urn:ietf:params:oauth:client-assertion-type:jwt-bearer', ''),
        weight: 1,
      },
      client_assertion: { like: fc.constant('eyJhbGciOiJub25lIn0.e30.'), weight: 1 },
    };
  }

  /** The Authorization header: none, Basic (real, edited or foreign credentials), other schemes. */
  const authArb = (owner: ClientKey | undefined): fc.Arbitrary<HeaderValue | undefined> => {
    const id = `${owner ?? 'web'}_id`;
    const secret = `${owner === 'service' ? 'service' : 'web'}_secret`;
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant(undefined) },
      {
        weight: owner ? 8 : 1,
        arbitrary: fc
          .boolean()
          .map<HeaderValue>((urlencode) => ({ basic: { id: ref(id), secret: ref(secret), urlencode } })),
      },
      {
        weight: 2,
        arbitrary: fc
          .record({
            id: fc.oneof(
              refArb(id, { header: true }),
              fc.constantFrom<Text>(ref('web_id'), ref('service_id'), ref('native_id')),
            ),
            secret: fc.oneof(refArb(secret), fc.constant(ref('web_secret')), garbageText),
            urlencode: fc.boolean(),
          })
          .map<HeaderValue>((basic) => ({ basic })),
      },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constantFrom(
            'Basic',
            'Basic ',
            'Basic %%%',
            'Basic =',
            'Bearer x',
            'DPoP x',
            'Digest x',
            `Basic ${'A'.repeat(8000)}`,
          ),
          headerText.map((t) => `Basic ${t}`),
          headerText,
        ),
      },
    );
  };

  /** The fields of a valid request for `s` (refs for what is made per run). */
  function tokenBase(s: Scenario, post: boolean): Field[] {
    const idOf = (o: ClientKey) => (w.clients[o].public || post ? [field('client_id', ref(`${o}_id`))] : []);
    const secretOf = (o: ClientKey) =>
      !w.clients[o].public && post ? [field('client_secret', ref(`${o}_secret`))] : [];
    switch (s.kind) {
      case 'code':
        return [
          field('grant_type', 'authorization_code'),
          field('code', ref('code')),
          ...(s.omitUri ? [] : [field('redirect_uri', w.clients[s.owner].redirectUris[0]!)]),
          ...(s.pkce ? [field('code_verifier', ref('verifier'))] : []),
          ...idOf(s.owner),
          ...secretOf(s.owner),
        ];
      case 'refresh':
        return [
          field('grant_type', 'refresh_token'),
          field('refresh_token', ref('refresh')),
          ...idOf(s.owner),
          ...secretOf(s.owner),
        ];
      case 'service':
        return [
          field('grant_type', 'client_credentials'),
          field('scope', 'api:read'),
          ...idOf('service'),
          ...secretOf('service'),
        ];
      case 'garbage':
        return [];
    }
  }

  interface TokenCase {
    /** What prepare() makes before the request is sent. */
    setup: Scenario;
    request: FuzzRequest;
  }

  function tokenCase(): fc.Arbitrary<TokenCase> {
    return fc.record({ scenario: scenarioArb, post: fc.boolean() }).chain(({ scenario, post }) => {
      const owner: ClientKey | undefined =
        scenario.kind === 'garbage' ? undefined : scenario.kind === 'service' ? 'service' : scenario.owner;
      const basicAuth = owner !== undefined && !w.clients[owner].public && !post;
      const base = tokenBase(scenario, post);
      return fc.record({
        setup: fc.constant(scenario),
        request: fc
          .record({
            fields: scenario.kind === 'garbage' ? randomFields : mutatedFields(base, tokenVocabulary()),
            separators: separatorsArb,
            auth: basicAuth
              ? authArb(owner)
              : fc.oneof(
                  { weight: 5, arbitrary: fc.constant(undefined) },
                  { weight: 1, arbitrary: authArb(owner) },
                ),
            type: contentTypeArb,
            body: bodyArb,
          })
          .map(({ fields, separators, auth, type, body }) => {
            const headers: Record<string, HeaderValue> = {};
            if (auth !== undefined) headers['authorization'] = auth;
            if (type !== undefined) headers['content-type'] = type;
            return { fields, separators, headers, body };
          })
          .filter((r) => headerBytes(r, 'body') < HEADER_BUDGET),
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Codes and refresh tokens, made fresh for a run

  /** A code for `owner`, from alice's session (the web app's consent is on record). */
  async function freshCode(owner: 'native' | 'web', p: Pkce | undefined, omitUri: boolean): Promise<string> {
    const c = w.clients[owner];
    const q = new URLSearchParams({ client_id: c.clientId, response_type: 'code' });
    if (omitUri) q.set('scope', 'profile offline_access');
    else {
      q.set('redirect_uri', c.redirectUris[0]!);
      q.set('scope', 'openid offline_access');
    }
    if (p) {
      q.set('code_challenge', p.challenge);
      q.set('code_challenge_method', 'S256');
    }
    const b = new Browser(w.server.url);
    b.cookies.set('latchkey_session', w.values['alice']!);
    const step = await b.get(`/authorize?${q}`);
    const code = step.location ? new URL(step.location).searchParams.get('code') : null;
    assert.ok(code, `a fresh code for ${owner}: ${step.status} ${step.location}`);
    return code;
  }

  /** A valid redemption or refresh, as the owner would send it. */
  function validToken(owner: 'native' | 'web', form: Record<string, string>) {
    const c = w.clients[owner];
    return c.public
      ? postToken(w.server, { ...form, client_id: c.clientId })
      : postToken(w.server, form, { authorization: basic(c.clientId, c.secret!) });
  }

  /**
   * The values of a run: a fresh code (and verifier) or refresh token for the scenario, maybe
   * already used once; refs the scenario has no real value for get a made-up one.
   */
  async function prepare(s: Scenario): Promise<Values> {
    const values: Record<string, string> = {
      ...w.values,
      code: 'made-up-code',
      verifier: pkce().verifier,
      refresh: 'made-up-refresh-token',
    };
    if (s.kind === 'service' || s.kind === 'garbage') return values;
    values['owner'] = s.owner;
    const p = s.kind === 'code' && !s.pkce ? undefined : pkce();
    const omitUri = s.kind === 'code' && s.omitUri;
    const code = await freshCode(s.owner, p, omitUri);
    const redeemForm = {
      grant_type: 'authorization_code',
      code,
      ...(omitUri ? {} : { redirect_uri: w.clients[s.owner].redirectUris[0]! }),
      ...(p ? { code_verifier: p.verifier } : {}),
    };
    if (s.kind === 'code') {
      values['code'] = code;
      if (p) {
        values['verifier'] = p.verifier;
        values['pkce'] = 'yes';
      }
      if (s.spent) {
        const first = await validToken(s.owner, redeemForm);
        assert.equal(first.status, 200, JSON.stringify(first.json));
        values['spent'] = 'code';
      }
      return values;
    }
    const tokens = await validToken(s.owner, redeemForm);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
    const refreshToken = tokens.json['refresh_token'];
    assert.equal(typeof refreshToken, 'string', 'a refresh token');
    values['refresh'] = refreshToken as string;
    if (s.spent) {
      const rotated = await validToken(s.owner, {
        grant_type: 'refresh_token',
        refresh_token: refreshToken as string,
      });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
      values['spent'] = 'refresh';
    }
    return values;
  }

  // -------------------------------------------------------------------------------------------
  // The properties

  /**
   * A property of `endpoint`: every request `cases` makes is sent (with the values `setup` makes
   * for it, the world's by default) and its answer checked.
   */
  function fuzz<S>(
    name: string,
    endpoint: Endpoint,
    runs: number,
    cases: () => fc.Arbitrary<{ request: FuzzRequest; setup: S }>,
    setup: (s: S) => Promise<Values> = async () => w.values,
  ): void {
    it(name, async (t) => {
      await checkProperty(
        t,
        cases(),
        async (c) => {
          const { answer, sent } = await send(w.server.url, endpoint, c.request, await setup(c.setup));
          await endpoint.check(answer, sent);
        },
        runs,
      );
    });
  }

  const plain = (requests: fc.Arbitrary<FuzzRequest>) =>
    requests.map((request) => ({ request, setup: null }));

  fuzz(
    'GET /authorize: an error page, the sign-in page, or a response to the registered redirect URI',
    ENDPOINTS.getAuthorize,
    300,
    () => plain(authorizeRequest('query')),
  );
  fuzz(
    'POST /authorize: the same, with form bodies, content types and bodies of every kind',
    ENDPOINTS.postAuthorize,
    200,
    () => plain(authorizeRequest('body')),
  );
  fuzz(
    'POST /token: RFC 6749 §5.2 JSON errors, or tokens the request earned',
    ENDPOINTS.token,
    250,
    tokenCase,
    prepare,
  );
  fuzz(
    'POST /par: RFC 9126 §2.3 JSON errors, or a 201 request_uri for an acceptable request',
    ENDPOINTS.par,
    200,
    () => plain(parRequest()),
  );
  fuzz(
    'POST /device_authorization: RFC 6749 §5.2 JSON errors (client authentication as at /par)',
    ENDPOINTS.deviceAuthorization,
    100,
    () => plain(parRequest()),
  );
});
