/**
 * The guarded fetch of documents clients name (jwks_uri): which addresses it refuses, which URLs
 * it refuses before any lookup, and, against a real local server, that a host resolving to
 * loopback is refused without the development switch, and redirects, oversized or non-JSON
 * bodies and slow answers are refused with it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { addressAllowed, checkFetchUrl, fetchJson, GuardedFetchError } from '../../src/net/guarded-fetch.js';

describe('guarded fetch', () => {
  it('refuses every special-purpose address, allows public ones', () => {
    for (const a of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '192.0.2.10',
      '::',
      'fc00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '::ffff:8.8.8.8',
      '0:0:0:0:0:ffff:808:808',
      'ff02::1',
      // Addresses that embed an IPv4 one: IPv4-compatible, NAT64 (well-known, local use), 6to4.
      '::a00:1',
      '64:ff9b::a00:1',
      '64:ff9b:1::a00:1',
      '2002:a00:1::1',
      'not-an-ip',
    ])
      assert.equal(addressAllowed(a, true), false, a);
    assert.equal(addressAllowed('127.0.0.1', false), false);
    assert.equal(addressAllowed('::1', false), false);
    assert.equal(addressAllowed('127.0.0.1', true), true, 'loopback only with the switch');
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700::1111'])
      assert.equal(addressAllowed(a, false), true, a);
  });

  it('refuses URLs before any lookup: http, credentials, fragments, private literals, other schemes', () => {
    for (const u of [
      'http://keys.example.com/jwks',
      'https://user:pw@keys.example.com/jwks',
      'https://keys.example.com/jwks#x',
      'https://10.0.0.1/jwks',
      'https://[fe80::1]/jwks',
      'file:///etc/passwd',
      'ftp://keys.example.com/jwks',
      'not a url',
    ])
      assert.throws(() => checkFetchUrl(u, false), GuardedFetchError, u);
    assert.throws(() => checkFetchUrl('http://127.0.0.1:1/x', false), /https/);
    assert.equal(checkFetchUrl('http://127.0.0.1:1/x', true).port, '1');
    assert.equal(checkFetchUrl('https://keys.example.com/jwks', false).hostname, 'keys.example.com');
  });

  describe('against a local server', () => {
    let server: Server;
    let base: string;
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/ok' });
          return res.end();
        }
        if (req.url === '/big') return res.end(JSON.stringify({ keys: 'x'.repeat(100_000) }));
        if (req.url === '/text') return res.end('<html>');
        if (req.url === '/slow') return void setTimeout(() => res.end('{}'), 2000);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [] }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('a name that resolves to loopback is refused without the switch (checked on the resolved address)', async () => {
      const port = (server.address() as AddressInfo).port;
      // `localhost` over https: the URL passes, the lookup's answer does not.
      await assert.rejects(fetchJson(`https://localhost:${port}/ok`), /not public/);
    });

    it('with the switch: the document, and refusals for a redirect, a large or non-JSON body, a slow answer', async () => {
      assert.deepEqual(await fetchJson(`${base}/ok`, { allowLoopback: true }), { keys: [] });
      await assert.rejects(
        fetchJson(`${base}/redirect`, { allowLoopback: true }),
        /redirects are not followed/,
      );
      await assert.rejects(fetchJson(`${base}/big`, { allowLoopback: true }), /larger than/);
      await assert.rejects(fetchJson(`${base}/text`, { allowLoopback: true }), /not JSON/);
      await assert.rejects(
        fetchJson(`${base}/slow`, { allowLoopback: true, timeoutMs: 200 }),
        /no answer in time/,
      );
      await assert.rejects(fetchJson(`${base}/ok`, { allowLoopback: true, maxBytes: 5 }), /larger than/);
    });
  });
});
