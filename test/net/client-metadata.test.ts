/**
 * Client ID Metadata Documents (src/net/client-metadata.ts): which client_ids name a document
 * (draft-ietf-oauth-client-id-metadata-document §3), and how long a fetched one is kept (its
 * Cache-Control, within the bounds; one fetch for concurrent uses).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ClientAdmin } from '../../src/admin/clients.js';
import { ManualClock } from '../../src/clock.js';
import {
  ClientMetadataDocumentError,
  ClientMetadataDocuments,
  isClientIdUrl,
  METADATA_MAX_CACHE_SEC,
} from '../../src/net/client-metadata.js';
import { openMemoryStorage } from '../../src/storage/memory/index.js';

describe('client ID metadata documents', () => {
  it('§3: an https URL with a path, no fragment, credentials or dot segments', () => {
    for (const id of ['https://app.example.com/client.json', 'https://app.example.com/a/b?x=1'])
      assert.equal(isClientIdUrl(id, false), true, id);
    for (const id of [
      'https://app.example.com',
      'https://app.example.com/',
      'https://app.example.com/c.json#frag',
      'https://user:pw@app.example.com/c.json',
      'https://app.example.com/a/../c.json',
      'https://app.example.com/./c.json',
      'http://app.example.com/c.json',
      'http://127.0.0.1:8080/c.json',
      'my-client',
      'https://',
    ])
      assert.equal(isClientIdUrl(id, false), false, id);
    // Development: http on loopback only.
    assert.equal(isClientIdUrl('http://127.0.0.1:8080/c.json', true), true);
    assert.equal(isClientIdUrl('http://app.example.com/c.json', true), false);
  });

  it('keeps a document as long as its Cache-Control says (bounded), one fetch for concurrent uses', async () => {
    let hits = 0;
    let maxAge = 'max-age=60';
    const server = createServer((req, res) => {
      hits++;
      const id = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url}`;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': maxAge }).end(
        JSON.stringify({
          client_id: id,
          application_type: 'native',
          redirect_uris: ['http://127.0.0.1/cb'],
          token_endpoint_auth_method: 'none',
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const clock = new ManualClock();
      const admin = new ClientAdmin(openMemoryStorage().clients, clock, undefined, {
        fetchAllowLoopback: true,
      });
      const docs = new ClientMetadataDocuments(clock, (input) => admin.build(input), { allowLocal: true });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/c.json`;
      const clients = await Promise.all([docs.client(url), docs.client(url), docs.client(url)]);
      assert.equal(hits, 1, 'one fetch for concurrent uses');
      assert.ok(clients.every((c) => c.clientId === url && c.registration === 'metadata_document'));
      assert.equal(clients[0]!.consent, 'required');
      await docs.client(url);
      assert.equal(hits, 1, 'cached');
      clock.advanceSeconds(61);
      await docs.client(url);
      assert.equal(hits, 2, 'fetched again after max-age');
      // A lifetime beyond the bound is cut to it.
      maxAge = 'max-age=9999999';
      clock.advanceSeconds(61);
      await docs.client(url);
      assert.equal(hits, 3);
      clock.advanceSeconds(METADATA_MAX_CACHE_SEC - 1);
      await docs.client(url);
      assert.equal(hits, 3);
      clock.advanceSeconds(2);
      await docs.client(url);
      assert.equal(hits, 4);
      await assert.rejects(docs.client('https://app.example.com/'), ClientMetadataDocumentError);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('bounds the fetches in flight: past the bound, refused at once', async () => {
    const held: import('node:http').ServerResponse[] = [];
    const server = createServer((_req, res) => {
      held.push(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const clock = new ManualClock();
      const admin = new ClientAdmin(openMemoryStorage().clients, clock);
      const docs = new ClientMetadataDocuments(clock, (input) => admin.build(input), {
        allowLocal: true,
        maxInFlight: 2,
        timeoutMs: 500,
      });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const slow = [docs.client(`${base}/a.json`), docs.client(`${base}/b.json`)];
      await assert.rejects(docs.client(`${base}/c.json`), /too many/);
      for (const p of slow) await assert.rejects(p, /no answer in time/);
      // Once they are done, new fetches go out again.
      await assert.rejects(docs.client(`${base}/d.json`), /no answer in time/);
    } finally {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
