/**
 * The peer for `npm run bench`: node-oidc-provider (v9) configured like Latchkey — PKCE required
 * (S256), RS256 ID tokens, one public client (token_endpoint_auth_method none), refresh tokens
 * with rotation for offline_access, an in-memory store without its default's 1,000-entry limit
 * (bench/peer-memory-adapter.ts). devInteractions are off; a
 * minimal sign-in page checks the password with argon2id at the same cost as Latchkey
 * (m=19 MiB, t=2, p=1) so the sign-in figures compare like with like.
 *
 * Started as its own process by bench/run.ts with env BENCH_PORT, BENCH_JWK (RS256 private JWK),
 * BENCH_PASSWORD_HASH (argon2id hash of the bench user's password). Prints "ready" when listening.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { verify } from '@node-rs/argon2';
import Provider from 'oidc-provider';
import { REDIRECT_URI, USER_NAME_PATTERN } from './lib.js';
import { UnboundedMemoryAdapter } from './peer-memory-adapter.js';

const port = Number(process.env.BENCH_PORT);
const jwk = JSON.parse(process.env.BENCH_JWK ?? 'null') as Record<string, unknown> | null;
const passwordHash = process.env.BENCH_PASSWORD_HASH ?? '';
if (!port || !jwk || !passwordHash) {
  process.stderr.write('peer: BENCH_PORT, BENCH_JWK and BENCH_PASSWORD_HASH are required\n');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const AUDIENCE = 'api://default';
const jwtAccessTokens = process.env.BENCH_PEER_JWT === '1';

const provider = new Provider(issuer, {
  // Its own memory adapter keeps 1,000 entries and evicts the sessions of 200 people.
  adapter: UnboundedMemoryAdapter,
  clients: [
    {
      client_id: 'bench',
      client_name: 'Bench',
      application_type: 'web', // native clients always get a consent prompt in node-oidc-provider
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [{ ...jwk, alg: 'RS256', use: 'sig' }] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    // BENCH_PEER_JWT=1: RFC 9068 JWT access tokens (RS256) for audience api://default, like
    // Latchkey's, through resource indicators; otherwise its default opaque access tokens.
    ...(jwtAccessTokens
      ? {
          resourceIndicators: {
            enabled: true,
            defaultResource: () => AUDIENCE,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({
              scope: 'api',
              audience: AUDIENCE,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            }),
          },
        }
      : {}),
  },
  cookies: { keys: ['bench-only-cookie-key-not-secret-0123456789'] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  findAccount: (_ctx, sub) => ({
    accountId: sub,
    claims: () => ({
      sub,
      name: 'Bench User',
      preferred_username: sub,
      updated_at: 1_700_000_000,
      email: `${sub}@example.com`,
      email_verified: false,
    }),
  }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // node-oidc-provider drops offline_access unless prompt=consent (OIDC Core §11), which would put a
  // consent page in every flow. The bench's refresh scenario asks for "openid offline_access" and
  // its flow scenario for "openid profile email", so: refresh tokens for requests without profile.
  issueRefreshToken: (_ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') &&
    (code.scopes.has('offline_access') || !code.scopes.has('profile')),
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 90 * 86400,
    Interaction: 900,
    Session: 24 * 3600,
    Grant: 90 * 86400,
  },
});

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function html(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

const page = (uid: string, error = '') =>
  `<!doctype html><title>Sign in</title>${error ? `<p>${error}</p>` : ''}` +
  `<form method="post" action="/interaction/${uid}/login">` +
  '<input name="username"><input name="password" type="password"><button>Sign in</button></form>';

async function interaction(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const [, , uid = '', action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return html(res, 400, 'interaction mismatch');
  if (req.method === 'GET' && action === undefined) return html(res, 200, page(uid));
  if (req.method === 'POST' && action === 'login') {
    const form = await readBody(req);
    // Every bench user (bench-0 … bench-N) has the same password, hashed once: one account each.
    const username = form.get('username') ?? '';
    const ok =
      USER_NAME_PATTERN.test(username) &&
      (await verify(passwordHash, form.get('password') ?? '').catch(() => false));
    if (!ok) return html(res, 401, page(uid, 'Wrong username or password.'));
    const clientId = String(details.params.client_id);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: username, clientId });
    if (!grant) return html(res, 400, 'grant not found');
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    if (jwtAccessTokens) grant.addResourceScope(AUDIENCE, 'api');
    const grantId = await grant.save();
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: username }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }
  html(res, 405, 'method not allowed');
}

const callback = provider.callback();
const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.startsWith('/interaction/')) {
    interaction(req, res, path).catch((err: unknown) => {
      html(res, 400, `interaction failed: ${(err as Error).message}`);
    });
    return;
  }
  callback(req, res);
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
