/**
 * A resource server protected with `latchkey/resource`, on Express.
 *
 *   [PORT=N] npx tsx examples/protected-api-express.ts http://localhost:3000
 *   curl -H "authorization: Bearer $(latchkey token)" http://127.0.0.1:8082/orders
 *
 * Outside this repository import from 'latchkey/resource' instead of the relative path.
 */
import express from 'express';
import { createVerifier, expressRequireToken, type RequestWithAuth } from '../src/resource/index.js';

const issuer = process.argv[2] ?? 'http://localhost:3000';
// The audience Latchkey puts in access tokens (LATCHKEY_AUDIENCE, default api://default).
const verifier = createVerifier({ issuer, audience: 'api://default' });

const app = express();
app.get('/orders', expressRequireToken(verifier), (req, res) => {
  const { claims } = (req as RequestWithAuth).auth!;
  res.json({ owner: claims.sub, orders: [] });
});
// 403 insufficient_scope with `WWW-Authenticate: Bearer …, scope="profile"` when the scope is missing.
app.get('/me', expressRequireToken(verifier, { requiredScopes: ['profile'] }), (req, res) => {
  res.json({ sub: (req as RequestWithAuth).auth!.claims.sub });
});
const port = Number(process.env['PORT'] ?? 8082);
app.listen(port, '127.0.0.1', () => console.log(`protected API on http://127.0.0.1:${port}`));
