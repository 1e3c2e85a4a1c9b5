/**
 * DPoP across nodes (RFC 9449 §11.1 replay, §8 nonces): two real `latchkey serve` processes (the
 * built command) with one issuer on one PostgreSQL database, nonces required. A proof accepted by
 * node A is refused by node B (its `jti` is in the shared replay table), and a nonce node A gave
 * is accepted by node B (nonces are stateless: an HMAC under a key both derive from the shared
 * signing keys). Mandatory when LATCHKEY_TEST_POSTGRES is set (fails if PostgreSQL is unreachable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { openStorage } from '../../src/storage/index.js';
import { createTempDatabase, PG_SKIP, type TempPgDatabase } from '../helpers/databases.js';
import { basic, postForm } from '../helpers/flow.js';
import { type SpawnedServe, spawnServe } from '../helpers/serve-process.js';

const ISSUER = 'https://id.example.test';

describe('DPoP on two latchkey processes sharing one PostgreSQL database', { skip: PG_SKIP }, () => {
  let db: TempPgDatabase;
  const nodes: { serve: SpawnedServe; url: string }[] = [];
  let service: { clientId: string; secret: string };
  let key: { privateKey: CryptoKey; jwk: JWK };

  /** Starts a node and reads its address from the start-up line. */
  async function start(): Promise<{ serve: SpawnedServe; url: string }> {
    const serve = spawnServe(db.url, { LATCHKEY_ISSUER: ISSUER, LATCHKEY_DPOP_NONCE: 'true' });
    await serve.ready;
    const url = /Latchkey listening on (http:\/\/\S+)/.exec(serve.output())?.[1];
    assert.ok(url, serve.output());
    return { serve, url };
  }

  before(async () => {
    db = await createTempDatabase('latchkey_dpop_nodes');
    nodes.push(await start());
    nodes.push(await start());
    const storage = await openStorage(db.url, { poolSize: 2 });
    try {
      const ctx = createContext(loadConfig({ database: db.url, issuer: ISSUER }, {}), systemClock, storage);
      const { client, secret } = await ctx.clients.create({
        name: 'DPoP service',
        type: 'service',
        redirectUris: [],
      });
      service = { clientId: client.clientId, secret: secret! };
    } finally {
      await storage.close();
    }
    const pair = await generateKeyPair('ES256');
    key = { privateKey: pair.privateKey, jwk: await exportJWK(pair.publicKey) };
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.serve.stop()));
    await db?.drop();
  });

  /** A proof for POST /token at the issuer (the address behind the load balancer). */
  const proof = (nonce?: string) =>
    new SignJWT({
      jti: crypto.randomUUID(),
      htm: 'POST',
      htu: `${ISSUER}/token`,
      iat: Math.floor(Date.now() / 1000),
      ...(nonce ? { nonce } : {}),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
      .sign(key.privateKey);
  const token = (node: number, dpop: string) =>
    postForm(
      `${nodes[node]!.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(service.clientId, service.secret), dpop },
    );

  test("a nonce node A gave is accepted by node B; B's successful answer carries a nonce too", async () => {
    const asked = await token(0, await proof());
    assert.equal(asked.status, 400, JSON.stringify(asked.json));
    assert.equal(asked.json['error'], 'use_dpop_nonce');
    const nonce = asked.headers.get('dpop-nonce');
    assert.ok(nonce);
    const ok = await token(1, await proof(nonce));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json['token_type'], 'DPoP');
    assert.ok(ok.headers.get('dpop-nonce'));
  });

  test('the same proof sent to node A, then node B: B refuses it (invalid_dpop_proof)', async () => {
    const nonce = (await token(0, await proof())).headers.get('dpop-nonce')!;
    const once = await proof(nonce);
    const first = await token(0, once);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const replayed = await token(1, once);
    assert.equal(replayed.status, 400);
    assert.equal(replayed.json['error'], 'invalid_dpop_proof');
    assert.match(String(replayed.json['error_description']), /used before/);
    // And the other way round.
    const twice = await proof(nonce);
    assert.equal((await token(1, twice)).status, 200);
    assert.equal((await token(0, twice)).json['error'], 'invalid_dpop_proof');
  });
});
