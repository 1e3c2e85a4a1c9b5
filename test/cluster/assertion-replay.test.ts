/**
 * A client assertion replayed across nodes (RFC 7523 §3 item 7, OIDC Core §9: a `jti` is used
 * once): two real `latchkey serve` processes with one issuer on one PostgreSQL database receive
 * the SAME private_key_jwt assertion at /token (client_credentials) at the same moment, round
 * after round. Exactly one node accepts it; the other answers 401 invalid_client, because the
 * `jti` is spent by one atomic insert into the shared replay table, whichever node gets there
 * first. Mandatory when LATCHKEY_TEST_POSTGRES is set (fails if PostgreSQL is unreachable).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { JWT_BEARER_ASSERTION } from '../../src/protocol/client-assertion.js';
import { openStorage } from '../../src/storage/index.js';
import { createTempDatabase, PG_SKIP, type TempPgDatabase } from '../helpers/databases.js';
import { postForm, type Reply } from '../helpers/flow.js';
import { type SpawnedServe, spawnServe } from '../helpers/serve-process.js';

const ISSUER = 'https://id.example.test';
const ROUNDS = 12;

describe('one client assertion sent to two latchkey processes at once', { skip: PG_SKIP }, () => {
  let db: TempPgDatabase;
  const nodes: { serve: SpawnedServe; url: string }[] = [];
  let clientId: string;
  let privateKey: CryptoKey;

  async function start(): Promise<{ serve: SpawnedServe; url: string }> {
    const serve = spawnServe(db.url, { LATCHKEY_ISSUER: ISSUER });
    await serve.ready;
    const url = /Latchkey listening on (http:\/\/\S+)/.exec(serve.output())?.[1];
    assert.ok(url, serve.output());
    return { serve, url };
  }

  before(async () => {
    db = await createTempDatabase('latchkey_assertion_nodes');
    nodes.push(await start());
    nodes.push(await start());
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'svc-1', alg: 'ES256' };
    const storage = await openStorage(db.url, { poolSize: 2 });
    try {
      const ctx = createContext(loadConfig({ database: db.url, issuer: ISSUER }, {}), systemClock, storage);
      const { client } = await ctx.clients.create({
        name: 'private_key_jwt service',
        type: 'service',
        redirectUris: [],
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [publicJwk] },
      });
      clientId = client.clientId;
    } finally {
      await storage.close();
    }
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.serve.stop()));
    await db?.drop();
  });

  const assertion = (jti: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, jti, iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: 'svc-1' })
      .sign(privateKey);
  };
  const token = (node: number, jwt: string): Promise<Reply> =>
    postForm(`${nodes[node]!.url}/token`, {
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: jwt,
    });

  test('each node accepts a fresh assertion of the application (the baseline)', async () => {
    for (const node of [0, 1]) {
      const r = await token(node, await assertion(randomUUID()));
      assert.equal(r.status, 200, `node ${node}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json['token_type'], 'Bearer');
    }
  });

  test(`${ROUNDS} rounds, the same assertion to both nodes at once: exactly one 200, the other invalid_client`, async (t) => {
    const winners = [0, 0];
    for (let round = 0; round < ROUNDS; round++) {
      const jwt = await assertion(randomUUID());
      // Alternate which request leaves first, so neither node is always ahead.
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const replies = new Array<Reply>(2);
      await Promise.all(
        order.map(async (node) => {
          replies[node] = await token(node, jwt);
        }),
      );
      const statuses = replies.map((r) => r.status);
      const ok = statuses.indexOf(200);
      assert.ok(
        ok !== -1 && statuses.filter((s) => s === 200).length === 1,
        `round ${round}: ${JSON.stringify(replies.map((r) => [r.status, r.json]))}`,
      );
      const refused = replies[1 - ok]!;
      assert.equal(refused.status, 401, `round ${round}: ${JSON.stringify(refused.json)}`);
      assert.equal(refused.json['error'], 'invalid_client');
      assert.match(String(refused.json['error_description']), /used before \(jti\)/);
      assert.ok(String(replies[ok]!.json['access_token']).length > 0);
      winners[ok]!++;
    }
    // Afterwards the assertion is refused by both nodes.
    const spent = await assertion(randomUUID());
    assert.equal((await token(0, spent)).status, 200);
    for (const node of [0, 1]) assert.equal((await token(node, spent)).json['error'], 'invalid_client');
    assert.equal(winners[0]! + winners[1]!, ROUNDS);
    t.diagnostic(`accepted by node A ${winners[0]} times, by node B ${winners[1]} times`);
  });
});
