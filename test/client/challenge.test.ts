/**
 * `WWW-Authenticate` parsing in latchkey/client (RFC 9110 §11.6.1) and the RFC 9470 §3 step-up
 * challenge read from it: quoted-strings with escapes, several challenges in one header or in
 * several headers, token68, case-insensitive names, and garbage that must never throw. The
 * header latchkey/resource writes reads back to what it was made from.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  LatchkeyError,
  parseStepUpChallenge,
  parseWwwAuthenticate,
  StepUpRequiredError,
  stepUpRequired,
} from '../../src/client/index.js';
import { VerificationError, wwwAuthenticate } from '../../src/resource/index.js';

describe('parseWwwAuthenticate', () => {
  it('reads a Bearer challenge with quoted and token values', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR", max_age=5',
      ),
      [
        {
          scheme: 'Bearer',
          params: {
            realm: 'api',
            error: 'insufficient_user_authentication',
            error_description: 'A different authentication level is required',
            acr_values: 'myACR',
            max_age: '5',
          },
        },
      ],
    );
  });

  it('unescapes quoted-pairs and keeps commas and equals signs inside quotes', () => {
    const [c] = parseWwwAuthenticate(
      String.raw`Bearer error_description="say \"hi\", a\\b = c\d", error="x"`,
    );
    assert.equal(c?.params['error_description'], 'say "hi", a\\b = cd');
    assert.equal(c?.params['error'], 'x');
  });

  it('splits several challenges, with or without parameters, token68 included', () => {
    const all = parseWwwAuthenticate(
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple", Negotiate, Token abc.def==, DPoP algs="ES256 RS256", error="use_dpop_nonce"',
    );
    assert.deepEqual(
      all.map((c) => c.scheme),
      ['Newauth', 'Basic', 'Negotiate', 'Token', 'DPoP'],
    );
    assert.deepEqual(all[0]?.params, { realm: 'apps', type: '1', title: 'Login to "apps"' });
    assert.deepEqual(all[2]?.params, {});
    assert.equal(all[3]?.token68, 'abc.def==');
    assert.deepEqual(all[4]?.params, { algs: 'ES256 RS256', error: 'use_dpop_nonce' });
  });

  it('lower-cases parameter names, allows spaces around "=", keeps the first of a repeated name', () => {
    const [c] = parseWwwAuthenticate('bearer  Error = "first" ,ERROR="second",  Max_Age = 30');
    assert.equal(c?.scheme, 'bearer');
    assert.deepEqual(c?.params, { error: 'first', max_age: '30' });
  });

  it('never throws on garbage, and reads what it can', () => {
    for (const bad of [
      '',
      ',',
      ', , ,',
      '=',
      '"',
      '"""',
      '\\',
      'Bearer ="x"',
      'Bearer error="unterminated',
      'Bearer error="a\\',
      'Bearer error=',
      'Bearer ,,,, error="x"',
      'Bearer error="x" junk junk, max_age=3',
      '@@@ Bearer error="x"',
      '\u0000Bearer\u0000',
      'Bearer error="x",,,,=,=,="y"',
      'x'.repeat(100_000),
      `Bearer a="${'\\'.repeat(5000)}`,
    ]) {
      assert.ok(Array.isArray(parseWwwAuthenticate(bad)), JSON.stringify(bad.slice(0, 40)));
      parseStepUpChallenge(bad);
    }
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
    assert.deepEqual(parseWwwAuthenticate(null), []);
    assert.deepEqual(parseWwwAuthenticate('Bearer error="x" junk junk, max_age=3')[0]?.params, {
      error: 'x',
      max_age: '3',
    });
    assert.equal(parseWwwAuthenticate('Bearer error="unterminated')[0]?.params['error'], 'unterminated');
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseStepUpChallenge(s);
        return Array.isArray(parseWwwAuthenticate(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseStepUpChallenge (RFC 9470 §3)', () => {
  it('reads acr_values (space-separated, in order) and max_age as token or quoted-string', () => {
    assert.deepEqual(
      parseStepUpChallenge(
        'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"',
      ),
      {
        scheme: 'Bearer',
        acrValues: [],
        maxAge: 5,
        errorDescription: 'More recent authentication is required',
      },
    );
    const c = parseStepUpChallenge(
      'Bearer error="insufficient_user_authentication", acr_values="urn:latchkey:acr:phr  urn:latchkey:acr:mfa", max_age=0',
    );
    assert.deepEqual(c?.acrValues, ['urn:latchkey:acr:phr', 'urn:latchkey:acr:mfa']);
    assert.equal(c?.maxAge, 0);
    assert.equal(c?.errorDescription, undefined);
  });

  it('finds it among several challenges, under Bearer or DPoP only', () => {
    const c = parseStepUpChallenge(
      'Basic realm="x", Bearer error="invalid_token", DPoP algs="ES256", error="insufficient_user_authentication", acr_values="urn:latchkey:acr:mfa"',
    );
    assert.equal(c?.scheme, 'DPoP');
    assert.deepEqual(c?.acrValues, ['urn:latchkey:acr:mfa']);
    assert.equal(parseStepUpChallenge('Custom error="insufficient_user_authentication"'), undefined);
    assert.equal(parseStepUpChallenge('Bearer error="invalid_token"'), undefined);
    assert.equal(parseStepUpChallenge('Bearer'), undefined);
  });

  it('leaves out a max_age that is not a non-negative integer', () => {
    for (const v of ['-1', '1.5', '"abc"', '""', '1e3', '99999999999999999999']) {
      const c = parseStepUpChallenge(`Bearer error="insufficient_user_authentication", max_age=${v}`);
      assert.ok(c, v);
      assert.equal(c.maxAge, undefined, v);
    }
  });

  it('reads back the header latchkey/resource writes', () => {
    const err = new VerificationError(
      'LATCHKEY_INSUFFICIENT_USER_AUTHENTICATION',
      'a stronger sign-in is required',
      {
        error: 'insufficient_user_authentication',
        acrValues: ['urn:latchkey:acr:mfa', 'urn:example:loa:3'],
        maxAge: 600,
      },
    );
    assert.deepEqual(parseStepUpChallenge(wwwAuthenticate(err, 'orders')), {
      scheme: 'Bearer',
      acrValues: ['urn:latchkey:acr:mfa', 'urn:example:loa:3'],
      maxAge: 600,
      errorDescription: 'a stronger sign-in is required',
    });
  });
});

describe('stepUpRequired', () => {
  it('turns a 401 with the challenge into a StepUpRequiredError, and nothing else', () => {
    const header =
      'Bearer error="insufficient_user_authentication", error_description="MFA please", acr_values="urn:latchkey:acr:mfa", max_age=300';
    const err = stepUpRequired(new Response(null, { status: 401, headers: { 'www-authenticate': header } }));
    assert.ok(err instanceof StepUpRequiredError);
    assert.ok(err instanceof LatchkeyError);
    assert.equal(err.code, 'LATCHKEY_STEP_UP_REQUIRED');
    assert.equal(err.error, 'insufficient_user_authentication');
    assert.equal(err.errorDescription, 'MFA please');
    assert.equal(err.status, 401);
    assert.deepEqual(err.acrValues, ['urn:latchkey:acr:mfa']);
    assert.equal(err.maxAge, 300);
    assert.deepEqual(err.authorizationParams, { acrValues: ['urn:latchkey:acr:mfa'], maxAge: 300 });
    assert.match(err.message, /acr_values urn:latchkey:acr:mfa, max_age 300\): MFA please/);
    assert.equal(
      stepUpRequired(new Response(null, { status: 403, headers: { 'www-authenticate': header } })),
      undefined,
    );
    assert.equal(
      stepUpRequired(
        new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } }),
      ),
      undefined,
    );
    assert.equal(stepUpRequired(new Response(null, { status: 401 })), undefined);
    // Two WWW-Authenticate headers reach fetch as one value joined with ", ".
    const headers = new Headers();
    headers.append('www-authenticate', 'Basic realm="x"');
    headers.append('www-authenticate', 'Bearer error="insufficient_user_authentication", max_age=60');
    assert.deepEqual(stepUpRequired(new Response(null, { status: 401, headers }))?.authorizationParams, {
      maxAge: 60,
    });
  });
});
