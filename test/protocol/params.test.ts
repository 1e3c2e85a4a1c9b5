/**
 * The pure parsing pieces of src/protocol/: request parameters (params.ts), scope strings
 * (scopes.ts), PKCE (pkce.ts) and redirect URIs (redirect-uris.ts). No HTTP, no storage; a few
 * fast-check properties where a rule is about every input, not a handful.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { OAuthError } from '../../src/protocol/errors.js';
import {
  assertWellFormed,
  badlyEncodedNames,
  MAX_PARAM_LENGTH,
  MAX_PARAMS,
  readParams,
} from '../../src/protocol/params.js';
import { CHALLENGE_PATTERN, s256, VERIFIER_PATTERN, verifierMatches } from '../../src/protocol/pkce.js';
import {
  matchRedirectUri,
  originsOf,
  RedirectUriError,
  validateRedirectUriForRegistration,
} from '../../src/protocol/redirect-uris.js';
import { hasScope, KNOWN_SCOPES, knownScopes, parseScope, scopeString } from '../../src/protocol/scopes.js';
import type { ClientType } from '../../src/storage/types.js';

/** Throws invalid_request (an OAuthError of status 400), with a description matching `description`. */
function throwsInvalidRequest(fn: () => unknown, description?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OAuthError, `an OAuthError, not ${String(err)}`);
    assert.equal(err.code, 'invalid_request');
    assert.equal(err.status, 400);
    if (description) assert.match(err.description, description);
    return true;
  });
}

describe('readParams (RFC 6749 §3.1, §3.2: parameters MUST NOT be included more than once)', () => {
  test('no source (a request without query or body) → no parameters', () => {
    for (const source of [undefined, null]) {
      const p = readParams(source);
      assert.equal(p.get('a'), undefined);
      assert.equal(p.has('a'), false);
      assert.deepEqual(p.duplicated, []);
      assert.deepEqual(p.malformed, []);
    }
  });
  test('string values are kept as they are; an empty value is present and empty', () => {
    const p = readParams({ a: 'b', scope: 'openid profile', empty: '', spaced: ' x ' });
    assert.equal(p.get('a'), 'b');
    assert.equal(p.get('scope'), 'openid profile');
    assert.equal(p.has('empty'), true);
    assert.equal(p.get('empty'), '');
    assert.equal(p.get('spaced'), ' x ');
    assert.equal(p.has('missing'), false);
    assert.deepEqual(p.duplicated, []);
    assert.deepEqual(p.malformed, []);
  });
  test('an array (a repeated parameter) is marked duplicated; its first string value is kept', () => {
    const p = readParams({ state: ['one', 'two'], scope: 'openid' });
    assert.deepEqual(p.duplicated, ['state']);
    assert.equal(p.get('state'), 'one');
    assert.deepEqual(p.malformed, []);
  });
  test('a repeated parameter whose first value is not a string, or too long, has no value', () => {
    const p = readParams({ a: [1, 'x'], b: ['y'.repeat(MAX_PARAM_LENGTH + 1), 'z'], c: [] });
    assert.deepEqual(p.duplicated, ['a', 'b', 'c']);
    for (const n of ['a', 'b', 'c']) assert.equal(p.has(n), false, n);
    assert.equal(readParams({ a: ['y'.repeat(MAX_PARAM_LENGTH)] }).get('a')?.length, MAX_PARAM_LENGTH);
  });
  test('non-string values (numbers, booleans, objects, null) are malformed and have no value', () => {
    const p = readParams({ n: 1, t: true, o: { x: 'y' }, z: null, ok: 'yes' });
    assert.deepEqual(p.malformed, ['n', 't', 'o', 'z']);
    for (const n of ['n', 't', 'o', 'z']) assert.equal(p.has(n), false, n);
    assert.equal(p.get('ok'), 'yes');
  });
  test(`values are refused, not truncated, over ${MAX_PARAM_LENGTH} characters`, () => {
    const p = readParams({ at: 'a'.repeat(MAX_PARAM_LENGTH), over: 'a'.repeat(MAX_PARAM_LENGTH + 1) });
    assert.equal(p.get('at')?.length, MAX_PARAM_LENGTH);
    assert.equal(p.has('over'), false);
    assert.deepEqual(p.malformed, ['over']);
  });
  test('a value with a NUL character is malformed', () => {
    const p = readParams({ state: 'a\u0000b' });
    assert.equal(p.has('state'), false);
    assert.deepEqual(p.malformed, ['state']);
  });
  test(`at most ${MAX_PARAMS} parameters; more → invalid_request`, () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, 'v']));
    assert.equal(readParams(many(MAX_PARAMS)).get(`p${MAX_PARAMS - 1}`), 'v');
    throwsInvalidRequest(() => readParams(many(MAX_PARAMS + 1)), /Too many parameters/);
  });
  test('a source that is not an object of parameters → invalid_request', () => {
    for (const source of ['a=b', 42, true])
      throwsInvalidRequest(() => readParams(source), /could not be read/);
  });
  test('with the raw string, badly percent-encoded parameters are malformed and have no value', () => {
    // What Fastify's parser hands over for `state=%zz&name=ok%20fine&%zzbad=1`: bad values undecoded.
    const p = readParams(
      { state: '%zz', name: 'ok fine', '%zzbad': '1' },
      'state=%zz&name=ok%20fine&%zzbad=1',
    );
    assert.deepEqual(p.malformed.toSorted(), ['%zzbad', 'state']);
    assert.equal(p.has('state'), false);
    assert.equal(p.has('%zzbad'), false);
    assert.equal(p.get('name'), 'ok fine');
  });
  test('without the raw string the same values are taken as they are', () => {
    const p = readParams({ state: '%zz' });
    assert.equal(p.get('state'), '%zz');
    assert.deepEqual(p.malformed, []);
  });
  test('every object of distinct short NUL-free string values reads back unchanged', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }),
          fc.string({ maxLength: 64 }).filter((v) => !v.includes('\u0000')),
          { maxKeys: MAX_PARAMS },
        ),
        (source) => {
          const p = readParams(source);
          assert.deepEqual(p.duplicated, []);
          assert.deepEqual(p.malformed, []);
          for (const [k, v] of Object.entries(source)) assert.equal(p.get(k), v);
        },
      ),
    );
  });
});

describe('badlyEncodedNames', () => {
  test('names whose value is not valid percent-encoded UTF-8; the raw name when the name itself is bad', () => {
    assert.deepEqual(badlyEncodedNames(''), []);
    assert.deepEqual(badlyEncodedNames('a=b&c=d'), []);
    assert.deepEqual(badlyEncodedNames('a=%E2%82%AC&b=%20+%2B&c=100%25'), []);
    assert.deepEqual(badlyEncodedNames('a=%zz'), ['a']);
    assert.deepEqual(badlyEncodedNames('a=100%'), ['a']);
    assert.deepEqual(badlyEncodedNames('a=%E0%A4%A'), ['a']);
    assert.deepEqual(badlyEncodedNames('a=%C3'), ['a'], 'a truncated UTF-8 sequence');
    assert.deepEqual(badlyEncodedNames('a=%FF'), ['a'], 'not UTF-8');
    assert.deepEqual(badlyEncodedNames('st%61te=%zz'), ['state'], 'the name is decoded');
    assert.deepEqual(badlyEncodedNames('b%zz=1&ok=1&c'), ['b%zz']);
    assert.deepEqual(badlyEncodedNames('flag%'), ['flag%'], 'a bare name');
  });
});

describe('assertWellFormed', () => {
  test('passes parameters given once and well-formed', () => {
    assertWellFormed(readParams({ a: 'b', c: '' }));
  });
  test('a repeated parameter → invalid_request naming it', () => {
    throwsInvalidRequest(
      () => assertWellFormed(readParams({ scope: ['a', 'b'] })),
      /more than once: scope\.$/,
    );
  });
  test('a malformed parameter → invalid_request naming it; repeats are reported first', () => {
    throwsInvalidRequest(
      () => assertWellFormed(readParams({ a: 'x'.repeat(5000) })),
      /too long or malformed: a\.$/,
    );
    throwsInvalidRequest(
      () => assertWellFormed(readParams({ a: 'x'.repeat(5000), b: ['1', '2'] })),
      /more than once: b\.$/,
    );
  });
  test('`only` limits the check to the names given', () => {
    const p = readParams({ a: ['1', '2'], b: 5 });
    assertWellFormed(p, ['c']);
    throwsInvalidRequest(() => assertWellFormed(p, ['a']), /more than once: a\./);
    throwsInvalidRequest(() => assertWellFormed(p, ['b']), /malformed: b\./);
  });
  test('the description names at most three parameters, each cut to 40 characters', () => {
    const long = 'n'.repeat(60);
    const p = readParams({ [long]: ['1', '2'], b: ['1', '2'], c: ['1', '2'], d: ['1', '2'] });
    assert.throws(
      () => assertWellFormed(p),
      (err: unknown) => {
        assert.ok(err instanceof OAuthError);
        assert.equal(err.description, `Parameter included more than once: ${'n'.repeat(40)}…, b, c.`);
        return true;
      },
    );
  });
});

/** RFC 6749 §3.3: NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const SCOPE_CHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter(
  (c) => c !== '"' && c !== '\\',
);
const scopeToken = fc.string({ unit: fc.constantFrom(...SCOPE_CHARS), minLength: 1, maxLength: 16 });
/** A UTF-16 code unit outside NQCHAR that is not the delimiter (space). */
const outsideChar = fc
  .oneof(
    fc.integer({ min: 0x00, max: 0x1f }),
    fc.constantFrom(0x22, 0x5c, 0x7f),
    fc.integer({ min: 0x80, max: 0xffff }),
  )
  .map((c) => String.fromCharCode(c));

describe('parseScope (RFC 6749 §3.3)', () => {
  test('absent or empty → no scopes', () => {
    assert.deepEqual(parseScope(undefined), []);
    assert.deepEqual(parseScope(''), []);
    assert.deepEqual(parseScope('   '), []);
  });
  test('space-delimited tokens, in the order given; repeats folded', () => {
    assert.deepEqual(parseScope('openid profile email'), ['openid', 'profile', 'email']);
    assert.deepEqual(parseScope('email openid email'), ['email', 'openid']);
    assert.deepEqual(parseScope('api:read https://api.example.com/x'), [
      'api:read',
      'https://api.example.com/x',
    ]);
  });
  test('extra, leading and trailing spaces are tolerated', () => {
    assert.deepEqual(parseScope('  openid   profile '), ['openid', 'profile']);
  });
  test('every NQCHAR is allowed, the boundary characters ! # [ ] ~ included', () => {
    assert.deepEqual(parseScope('! # [ ] ~ $%&'), ['!', '#', '[', ']', '~', '$%&']);
    assert.deepEqual(parseScope(SCOPE_CHARS.join('')), [SCOPE_CHARS.join('')]);
  });
  test('" and \\, control characters, DEL, tabs and non-ASCII are refused (undefined)', () => {
    for (const bad of [
      '"openid"',
      'a\\b',
      'openid\tprofile',
      'openid\nprofile',
      'a\u007fb',
      'café',
      'openid\u00a0x',
    ]) {
      assert.equal(parseScope(bad), undefined, JSON.stringify(bad));
    }
  });
  test('property: a list of scope tokens joined by spaces reads back as the list, repeats folded', () => {
    fc.assert(
      fc.property(fc.array(scopeToken, { maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (tokens, gap) => {
        assert.deepEqual(parseScope(tokens.join(' '.repeat(gap))), [...new Set(tokens)]);
        assert.deepEqual(parseScope(scopeString(tokens)), [...new Set(tokens)]);
      }),
    );
  });
  test('property: any character outside the charset, anywhere in a scope string, is refused', () => {
    fc.assert(
      fc.property(
        fc.array(scopeToken, { maxLength: 4 }),
        outsideChar,
        fc.array(scopeToken, { maxLength: 4 }),
        fc.boolean(),
        (before, bad, after, glued) => {
          const head = before.join(' ');
          const raw = glued ? `${head}${bad}${after.join(' ')}` : `${head} ${bad} ${after.join(' ')}`;
          assert.equal(parseScope(raw), undefined, JSON.stringify(raw));
        },
      ),
    );
  });
});

describe('knownScopes, scopeString, hasScope', () => {
  test('knownScopes keeps the OIDC scopes the server knows, in its own order (OIDC Core §3.1.2.1)', () => {
    assert.deepEqual(KNOWN_SCOPES, ['openid', 'profile', 'email', 'offline_access']);
    assert.deepEqual(knownScopes(['offline_access', 'x', 'email', 'openid', 'profile']), [...KNOWN_SCOPES]);
    assert.deepEqual(knownScopes(['api:read', 'OPENID']), []);
  });
  test('scopeString joins with one space; hasScope matches whole tokens only', () => {
    assert.equal(scopeString(['openid', 'email']), 'openid email');
    assert.equal(scopeString([]), '');
    assert.equal(hasScope('openid email', 'email'), true);
    assert.equal(hasScope('openid emails', 'email'), false);
    assert.equal(hasScope('', 'openid'), false);
  });
});

/** RFC 7636 §4.1 unreserved characters. */
const VERIFIER_CHARS = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  '-',
  '.',
  '_',
  '~',
];
const verifierOf = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...VERIFIER_CHARS), minLength: min, maxLength: max });

describe('PKCE (RFC 7636, S256 only)', () => {
  const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  test('RFC 7636 Appendix B: the example verifier gives the example challenge, and matches it', () => {
    assert.equal(s256(VERIFIER), CHALLENGE);
    assert.equal(verifierMatches(VERIFIER, CHALLENGE), true);
  });
  test('any other verifier or challenge does not match', () => {
    assert.equal(verifierMatches(`${VERIFIER.slice(0, -1)}l`, CHALLENGE), false);
    assert.equal(verifierMatches(VERIFIER, `${CHALLENGE.slice(0, -1)}N`), false);
    assert.equal(verifierMatches(VERIFIER, `${CHALLENGE}=`), false);
    assert.equal(verifierMatches(VERIFIER, ''), false);
    assert.equal(verifierMatches(VERIFIER, VERIFIER), false, 'plain: the verifier as its own challenge');
  });
  test('a verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1), even if its hash matches', () => {
    for (const bad of [
      'a'.repeat(42),
      'a'.repeat(129),
      `${'a'.repeat(42)}+`,
      `${'a'.repeat(42)}/`,
      `${'a'.repeat(42)}=`,
      `${'a'.repeat(42)} `,
      `${'a'.repeat(42)}é`,
      '',
    ]) {
      assert.equal(VERIFIER_PATTERN.test(bad), false, bad);
      assert.equal(verifierMatches(bad, s256(bad)), false, bad);
    }
    for (const ok of ['a'.repeat(43), 'a'.repeat(128), `${'-._~'.repeat(11)}`]) {
      assert.equal(verifierMatches(ok, s256(ok)), true, ok);
    }
  });
  test('property: every valid verifier matches its S256 challenge, which is 43 base64url characters', () => {
    fc.assert(
      fc.property(verifierOf(43, 128), (v) => {
        const c = s256(v);
        assert.ok(CHALLENGE_PATTERN.test(c), c);
        assert.equal(verifierMatches(v, c), true);
      }),
    );
  });
  test('property: a verifier shorter than 43 or longer than 128 never matches', () => {
    fc.assert(
      fc.property(fc.oneof(verifierOf(0, 42), verifierOf(129, 200)), (v) => !verifierMatches(v, s256(v))),
    );
  });
});

describe('validateRedirectUriForRegistration', () => {
  const accepts = (uri: string, type: ClientType = 'web') =>
    assert.doesNotThrow(() => validateRedirectUriForRegistration(uri, type), uri);
  const refuses = (uri: string, reason: RegExp, type: ClientType = 'web') =>
    assert.throws(
      () => validateRedirectUriForRegistration(uri, type),
      (err: unknown) => {
        assert.ok(err instanceof RedirectUriError, `a RedirectUriError for ${uri}`);
        assert.match(err.message, reason, uri);
        return true;
      },
    );

  test('https URIs, with port, path and query', () => {
    accepts('https://app.example.com/callback');
    accepts('https://app.example.com:8443/cb?tenant=a');
    accepts('https://app.example.com');
  });
  test('http only for loopback: 127.0.0.1, [::1], localhost, any port (RFC 8252 §7.3, §8.3)', () => {
    for (const uri of [
      'http://127.0.0.1/callback',
      'http://127.0.0.1:8080/callback',
      'http://[::1]/callback',
      'http://[::1]:49152/cb',
      'http://localhost:3000/cb',
    ]) {
      accepts(uri, 'native');
    }
  });
  test('http for any other host is refused', () => {
    for (const uri of [
      'http://app.example.com/cb',
      'http://127.0.0.2/cb',
      'http://127.0.0.1.nip.io/cb',
      'http://10.0.0.1/cb',
    ]) {
      refuses(uri, /only for loopback/);
    }
  });
  test('private-use schemes in reverse-domain form, for native apps only (RFC 8252 §7.1)', () => {
    accepts('com.example.app:/oauth2redirect', 'native');
    accepts('com.example.app://callback', 'native');
    accepts('io.github.user-1.app:/cb', 'native');
    for (const type of ['web', 'spa', 'service'] as const) {
      refuses('com.example.app:/oauth2redirect', /only for native applications/, type);
    }
    refuses('myapp:/callback', /reverse-domain form/, 'native');
    refuses('myapp://callback', /reverse-domain form/, 'native');
  });
  test('fragments are refused, even an empty one (RFC 6749 §3.1.2)', () => {
    refuses('https://app.example.com/cb#x', /fragment/);
    refuses('https://app.example.com/cb#', /fragment/);
    refuses('com.example.app:/cb#x', /fragment/, 'native');
  });
  test('wildcards, credentials, relative URIs, whitespace and control characters are refused', () => {
    refuses('https://*.example.com/cb', /wildcards/);
    refuses('https://app.example.com/*', /wildcards/);
    refuses('https://user:pw@app.example.com/cb', /credentials/);
    refuses('https://user@app.example.com/cb', /credentials/);
    refuses('/callback', /not an absolute URI/);
    refuses('app.example.com/cb', /not an absolute URI/);
    refuses('https://app.example.com/c b', /whitespace or control/);
    refuses('https://app.example.com/cb\n', /whitespace or control/);
    refuses('https://app.example.com/cb\u0000', /whitespace or control/);
    refuses('https://app.example.com/cb\u007f', /whitespace or control/);
  });
  test('http(s) without the // authority is refused (it would never be sent back that way)', () => {
    refuses('https:app.example.com/cb', /must start with https:\/\//);
    refuses('http:127.0.0.1/cb', /must start with http:\/\//, 'native');
  });
  test('dangerous or non-redirect schemes are refused, for native apps too', () => {
    for (const uri of [
      'javascript:alert(1)',
      'data:text/html,hi',
      'file:///etc/passwd',
      'vbscript:msgbox',
      'blob:https://app.example.com/x',
      'about:blank',
      'ws://127.0.0.1/cb',
      'wss://app.example.com/cb',
    ]) {
      refuses(uri, /is not allowed/, 'native');
    }
  });
  test('1 to 2000 characters', () => {
    refuses('', /1 to 2000/);
    const path = 'a'.repeat(2000 - 'https://app.example.com/'.length);
    accepts(`https://app.example.com/${path}`);
    refuses(`https://app.example.com/${path}a`, /1 to 2000/);
  });
});

describe('matchRedirectUri (RFC 9700 §4.1.3: exact string match)', () => {
  const REGISTERED = [
    'https://app.example.com/callback',
    'http://127.0.0.1/callback',
    'http://[::1]:8080/cb',
    'http://localhost:7777/cb',
    'com.example.app:/oauth2redirect',
  ];

  test('every registered URI matches itself', () => {
    for (const uri of REGISTERED) assert.equal(matchRedirectUri(uri, REGISTERED), true, uri);
  });
  test('no normalisation: case, trailing slash, default port, query, encoding all differ', () => {
    for (const uri of [
      'https://APP.example.com/callback',
      'HTTPS://app.example.com/callback',
      'https://app.example.com/Callback',
      'https://app.example.com/callback/',
      'https://app.example.com:443/callback',
      'https://app.example.com/callback?x=1',
      'https://app.example.com/%63allback',
      'https://app.example.com/callback/../callback',
      'https://app.example.com/callback#x',
      'https://app.example.com:8443/callback',
      'com.example.app:/oauth2redirect/x',
      'com.example.app://oauth2redirect',
      '',
    ]) {
      assert.equal(matchRedirectUri(uri, REGISTERED), false, uri);
    }
  });
  test('a loopback IP URI may use any port, registered with a port or not (RFC 8252 §7.3)', () => {
    for (const uri of [
      'http://127.0.0.1:1/callback',
      'http://127.0.0.1:49152/callback',
      'http://127.0.0.1:65535/callback',
      'http://[::1]/cb',
      'http://[::1]:1/cb',
    ]) {
      assert.equal(matchRedirectUri(uri, REGISTERED), true, uri);
    }
  });
  test('…but only the port: host, path, query and fragment must still match exactly', () => {
    for (const uri of [
      'http://127.0.0.1:8080/callback/',
      'http://127.0.0.1:8080/other',
      'http://127.0.0.1:8080/callback?x=1',
      'http://127.0.0.1:8080/callback#x',
      'http://127.0.0.1:8080',
      'http://127.0.0.1:99999/callback',
      'http://127.0.0.1:/callback',
      'http://[::1]:8080/callback', // 127.0.0.1 is registered with /callback, [::1] only with /cb
      'http://127.0.0.1:8080/cb',
      'https://127.0.0.1:8080/callback',
      'http://127.0.0.1:8080@evil.example/callback',
      'http://127.0.0.2:8080/callback',
    ]) {
      assert.equal(matchRedirectUri(uri, REGISTERED), false, uri);
    }
  });
  test('localhost is matched exactly: no port flexibility (RFC 8252 §8.3)', () => {
    assert.equal(matchRedirectUri('http://localhost:7778/cb', REGISTERED), false);
    assert.equal(matchRedirectUri('http://localhost/cb', REGISTERED), false);
  });
  test('nothing matches an empty list', () => {
    assert.equal(matchRedirectUri('http://127.0.0.1/callback', []), false);
  });
  test('property: http://127.0.0.1:<any port 0–65535>/callback matches the registered port-less URI', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (port) =>
        matchRedirectUri(`http://127.0.0.1:${port}/callback`, ['http://127.0.0.1/callback']),
      ),
    );
  });
});

describe('originsOf (CORS for single-page apps)', () => {
  test('the distinct http(s) origins of the URIs; private-use schemes have none', () => {
    assert.deepEqual(
      originsOf([
        'https://spa.example.com/cb',
        'https://spa.example.com/other',
        'http://localhost:3000/cb',
        'com.example.app:/cb',
        'not a uri',
      ]),
      ['https://spa.example.com', 'http://localhost:3000'],
    );
  });
});
