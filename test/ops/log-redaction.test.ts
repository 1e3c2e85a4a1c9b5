/**
 * No code, token, verifier, hint or secret in any log line: a full flow (sign-in, code, tokens,
 * refresh, userinfo, introspection, revocation, logout with id_token_hint, a malformed request)
 * at the most verbose level, then the log is searched for every one of those values.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { redactUrl, shortLineStream } from '../../src/http/logging.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { getCode, pkce, postToken, redeem } from '../helpers/flow.js';
import { createClient, createUser, freePort, PASSWORD, type TestServer } from '../helpers/server.js';

describe('request logs hold no secrets', () => {
  let server: RunningServer;
  const lines: string[] = [];

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const config = loadConfig(
      { port, host: '127.0.0.1', issuer, database: ':memory:', logLevel: 'trace' },
      {},
    );
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    server = await startServer(config, { clock: new ManualClock(), logger: { level: 'trace', stream } });
  });
  after(() => server?.close());

  it('a full flow leaves none of its values in the log', async () => {
    const s = { ...server, issuer: server.url } as unknown as TestServer;
    await createUser(s, 'alice');
    const app = await createClient(s, { type: 'native' });
    const service = await createClient(s, { type: 'web', redirectUris: ['https://rp.example.com/cb'] });
    const p = pkce();
    const { code, url } = await getCode(s, app, p, {
      scope: 'openid profile offline_access',
      nonce: 'nonce-secret-1',
    });
    const tokens = await redeem(s, app, code, p.verifier);
    assert.equal(tokens.status, 200);
    const access = String(tokens.json['access_token']);
    const refresh = String(tokens.json['refresh_token']);
    const idToken = String(tokens.json['id_token']);
    const refreshed = await postToken(s, {
      grant_type: 'refresh_token',
      refresh_token: refresh,
      client_id: app.clientId,
    });
    assert.equal(refreshed.status, 200);
    const refresh2 = String(refreshed.json['refresh_token']);
    const basic = `Basic ${Buffer.from(`${service.clientId}:${service.secret}`).toString('base64')}`;
    await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${access}` } });
    await fetch(`${server.url}/userinfo?access_token=${access}`);
    await fetch(`${server.url}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: `token=${refresh2}`,
    });
    await fetch(`${server.url}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${refresh2}&client_id=${app.clientId}`,
    });
    await fetch(`${server.url}/logout?id_token_hint=${idToken}&state=st-secret-2`, { redirect: 'manual' });
    // Malformed requests that carry secrets in the URL.
    await fetch(`${server.url}/token?code=${code}&code_verifier=${p.verifier}`, { method: 'POST' });
    await fetch(`${server.url}/authorize%ZZ?code=${code}`);
    await fetch(`${server.url}/nowhere?access_token=${access}`);

    const log = lines.join('');
    assert.ok(log.includes('request completed'), 'requests are logged');
    assert.ok(log.includes('/authorize?'), 'paths and parameter names are kept');
    const secrets: Record<string, string> = {
      code,
      verifier: p.verifier,
      challenge: p.challenge,
      access,
      refresh,
      refresh2,
      idToken,
      state: url.searchParams.get('state') ?? 'st-123',
      nonce: 'nonce-secret-1',
      logoutState: 'st-secret-2',
      password: PASSWORD,
      clientSecret: String(service.secret),
      basic: basic.slice(6),
    };
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(value.length >= 6, name);
      assert.equal(log.includes(value), false, `${name} appears in the log`);
      // Nor percent-encoded.
      assert.equal(log.includes(encodeURIComponent(value)), false, `${name} (encoded) appears in the log`);
    }
  });

  it('redactUrl keeps the path and parameter names only; short lines fold request pairs', () => {
    assert.equal(
      redactUrl('/authorize?client_id=a&code_challenge=b&&x'),
      '/authorize?client_id=…&code_challenge=…&x=…',
    );
    assert.equal(redactUrl('/jwks'), '/jwks');
    const out: string[] = [];
    const short = shortLineStream((l) => out.push(l));
    short.write(
      `${JSON.stringify({ level: 30, time: 0, reqId: 'r1', req: { method: 'GET', url: '/jwks' }, msg: 'incoming request' })}\n`,
    );
    short.write(
      `${JSON.stringify({ level: 30, time: 0, reqId: 'r1', res: { statusCode: 200 }, responseTime: 1.25, msg: 'request completed' })}\n`,
    );
    short.write(`${JSON.stringify({ level: 40, time: 0, msg: 'purge failed', err: { message: 'disk' } })}\n`);
    assert.equal(out.length, 2);
    assert.match(out[0]!, /^\d\d:\d\d:\d\d GET \/jwks 200 1\.3ms\n$/);
    assert.match(out[1]!, /WARN purge failed: disk/);
  });
});
