/**
 * Cookies as the server writes and reads them. package.json pins `cookie` to 1.x under
 * @fastify/cookie and light-my-request (2.x declares Node >= 22, so Node 20 installs warned);
 * the strings below are what cookie 2.0.2 produced for the same calls, so the pin changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';

describe('cookies (the version pinned for Node 20)', () => {
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    app = Fastify();
    await app.register(cookie);
    app.get('/set', (_req, reply) => {
      reply.setCookie('latchkey_session', 'AbC-_09xyz', {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: false,
        maxAge: 86400,
      });
      reply.setCookie('latchkey_interaction', 'id123', {
        path: '/interaction/id123',
        httpOnly: true,
        sameSite: 'lax',
        secure: true,
        maxAge: 900,
      });
      reply.clearCookie('latchkey_logout', { path: '/logout' });
      reply.setCookie('odd', 'a b;c%', { path: '/' });
      return 'ok';
    });
    app.get('/echo', (req) => req.cookies);
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  it('serialises Set-Cookie exactly as before', async () => {
    const res = await fetch(`${base}/set`);
    assert.deepEqual(res.headers.getSetCookie(), [
      'latchkey_session=AbC-_09xyz; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax',
      'latchkey_interaction=id123; Max-Age=900; Path=/interaction/id123; HttpOnly; Secure; SameSite=Lax',
      'latchkey_logout=; Max-Age=0; Path=/logout; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax',
      'odd=a%20b%3Bc%25; Path=/; SameSite=Lax',
    ]);
  });

  it('parses Cookie headers exactly as before', async () => {
    const cases: [string, Record<string, string>][] = [
      ['a=1; b=2', { a: '1', b: '2' }],
      ['a="q"; b=%41', { a: '"q"', b: 'A' }],
      ['noval; c=3', { c: '3' }],
      ['a=1; a=2', { a: '1' }],
      [' s = x ; t=%ZZ', { s: 'x', t: '%ZZ' }],
    ];
    for (const [header, expected] of cases) {
      const res = await fetch(`${base}/echo`, { headers: { cookie: header } });
      assert.deepEqual(await res.json(), expected, header);
    }
  });
});
