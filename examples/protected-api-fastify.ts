/**
 * A resource server protected with `latchkey/resource`, on Fastify (a preHandler per route).
 *
 *   [PORT=N] npx tsx examples/protected-api-fastify.ts http://localhost:3000
 *
 * Outside this repository import from 'latchkey/resource' instead of the relative path.
 */
import Fastify from 'fastify';
import { createVerifier, requireToken } from '../src/resource/index.js';

const issuer = process.argv[2] ?? 'http://localhost:3000';
const verifier = createVerifier({ issuer, audience: 'api://default' });

const app = Fastify();
app.get('/orders', { preHandler: requireToken(verifier) }, async (req) => ({
  owner: req.auth!.claims.sub,
  scopes: req.auth!.scopes,
}));
app.get('/admin', { preHandler: requireToken(verifier, { requiredScopes: ['orders:admin'] }) }, async () => ({
  ok: true,
}));
const port = Number(process.env['PORT'] ?? 8083);
await app.listen({ port, host: '127.0.0.1' });
console.log(`protected API on http://127.0.0.1:${port}`);
