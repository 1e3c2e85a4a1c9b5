/**
 * One verdict for one token: introspection, /userinfo and `latchkey/resource` apply the same time
 * rules (src/tokens/clock-rules.ts). Each is fed the same tokens — a real access token re-signed
 * with the server's own key and its time claims moved, as a node whose clock runs fast or slow
 * would mint them — and each must reach the expected verdict.
 */
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { createVerifier } from '../../src/resource/index.js';
import { CLOCK_SKEW_SEC } from '../../src/tokens/clock-rules.js';
import { basic, obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('the same clock rules in every verifier', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let service: { clientId: string; secret?: string };
  let claims: Record<string, unknown>;

  before(async () => {
    service = await createClient(s.server, { type: 'service' });
    const app = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
  });

  /** The real token's claims with `change` applied (undefined deletes), signed with the active key. */
  async function mint(change: Record<string, unknown>): Promise<string> {
    const key = await s.server.ctx.keys.signingKey();
    const payload: Record<string, unknown> = { ...claims, ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete payload[k];
    const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: key.kid })}.${b64(payload)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
  }

  it('introspection, userinfo and latchkey/resource agree on exp, nbf and iat', async () => {
    const now = Math.floor(s.server.clock.now() / 1000);
    const within = CLOCK_SKEW_SEC - 2;
    const cases: { name: string; change: Record<string, unknown>; valid: boolean }[] = [
      { name: 'as issued', change: {}, valid: true },
      { name: `iat ${within} s ahead (within the skew)`, change: { iat: now + within }, valid: true },
      { name: 'iat 60 s ahead', change: { iat: now + 60 }, valid: false },
      { name: 'iat 3 hours ahead', change: { iat: now + 3 * 3600, exp: now + 4 * 3600 }, valid: false },
      { name: 'no iat', change: { iat: undefined }, valid: false },
      { name: 'iat not a number', change: { iat: String(now) }, valid: false },
      { name: `nbf ${within} s ahead`, change: { nbf: now + within }, valid: true },
      { name: 'nbf 60 s ahead', change: { nbf: now + 60 }, valid: false },
      { name: `expired ${within} s ago (within the skew)`, change: { exp: now - within }, valid: true },
      { name: 'expired 60 s ago', change: { exp: now - 60 }, valid: false },
      { name: 'no exp', change: { exp: undefined }, valid: false },
    ];
    const resource = createVerifier({
      issuer: s.server.issuer,
      audience: s.server.ctx.config.audience,
      now: () => s.server.clock.now(),
    });
    const verdicts: string[] = [];
    const expected: string[] = [];
    for (const c of cases) {
      const token = await mint(c.change);
      const introspected = await postForm(
        `${s.server.url}/introspect`,
        { token },
        { authorization: basic(service.clientId, service.secret!) },
      );
      assert.equal(introspected.status, 200);
      const userinfo = await fetch(`${s.server.url}/userinfo`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.ok(userinfo.status === 200 || userinfo.status === 401, `${c.name}: userinfo ${userinfo.status}`);
      const sdk = await resource.verify(token).then(
        () => true,
        () => false,
      );
      const v = (ok: boolean) => (ok ? 'valid' : 'refused');
      verdicts.push(
        `${c.name}: introspection ${v(introspected.json['active'] === true)}, userinfo ${v(userinfo.status === 200)}, resource ${v(sdk)}`,
      );
      expected.push(`${c.name}: introspection ${v(c.valid)}, userinfo ${v(c.valid)}, resource ${v(c.valid)}`);
    }
    assert.deepEqual(verdicts, expected);
  });
});
