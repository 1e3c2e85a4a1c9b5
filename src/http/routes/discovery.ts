/** OIDC Discovery 1.0 and RFC 8414 metadata, JWKS, health. They list exactly what exists. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../context.js';
import { GRANT_HANDLERS } from '../../protocol/grants/index.js';
import { KNOWN_SCOPES } from '../../protocol/scopes.js';
import { STYLESHEET } from '../../ui/styles.js';

export function discoveryDocument(ctx: ServerContext): Record<string, unknown> {
  const iss = ctx.config.issuer;
  return {
    issuer: iss,
    authorization_endpoint: `${iss}/authorize`,
    token_endpoint: `${iss}/token`,
    jwks_uri: `${iss}/jwks`,
    userinfo_endpoint: `${iss}/userinfo`,
    revocation_endpoint: `${iss}/revoke`,
    introspection_endpoint: `${iss}/introspect`,
    end_session_endpoint: `${iss}/logout`,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: [...GRANT_HANDLERS.keys()],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: [...KNOWN_SCOPES],
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'at_hash',
      'sid',
      'name',
      'preferred_username',
      'updated_at',
      'email',
      'email_verified',
    ],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    prompt_values_supported: ['none', 'login', 'consent'],
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
  };
}

export function discoveryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const cors = { cors: true };
  // Built once: the document depends only on configuration.
  const doc = JSON.stringify(discoveryDocument(ctx));
  const sendDoc = async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(doc);
  app.get('/.well-known/openid-configuration', { config: cors }, sendDoc);
  app.get('/.well-known/oauth-authorization-server', { config: cors }, sendDoc);

  // LATCHKEY_JWKS_MAX_AGE (default 60 s): the key publication delay must exceed it plus the
  // resource servers' re-fetch cool-down (config.ts minSafePublicationDelaySec).
  const jwksCacheControl = `public, max-age=${ctx.config.jwksMaxAgeSec}`;
  app.get('/jwks', { config: cors }, async (_req, reply) =>
    reply
      .header('content-type', 'application/jwk-set+json')
      .header('cache-control', jwksCacheControl)
      .send(await ctx.keys.jwks()),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/assets/latchkey.css', async (_req, reply) =>
    reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(STYLESHEET),
  );
}
