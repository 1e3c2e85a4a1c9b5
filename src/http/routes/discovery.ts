import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * OIDC Discovery 1.0 and RFC 8414 metadata, JWKS, health and the stylesheet: the documents
 * list exactly what exists. discoveryRoutes registers one named handler per document.
 */

import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { AUTH_METHODS } from '../../admin/client-settings.js';
import { ACR_VALUES_SUPPORTED } from '../../auth/sign-in-policy.js';
import type { ServerContext } from '../../context.js';
import { ASYMMETRIC_ALGS, MAC_ALGS } from '../../protocol/client-assertion.js';
import { DPOP_ALGS } from '../../protocol/dpop.js';
import { GRANT_HANDLERS } from '../../protocol/grants/index.js';
import { KNOWN_SCOPES } from '../../protocol/scopes.js';
import { fastifyRoute, insertWellKnown } from '../../protocol/well-known.js';
import { PASSKEY_SCRIPT } from '../../ui/passkey-script.js';
import { STYLESHEET } from '../../ui/styles.js';

/** The proof algorithms, by their JOSE names (Ed25519 is the newer name of EdDSA with that curve). */
const DPOP_ALGS_ADVERTISED = DPOP_ALGS.filter((a) => a !== 'Ed25519');

/** RFC 8414 §2: the JWS algorithms of client assertions (RFC 7523); Ed25519 is EdDSA's newer name. */
const SIGNING_ALGS = [...ASYMMETRIC_ALGS.filter((a) => a !== 'Ed25519'), ...MAC_ALGS];
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
    // RFC 9126 §5.
    pushed_authorization_request_endpoint: `${iss}/par`,
    require_pushed_authorization_requests: ctx.config.requirePar,
    // RFC 8628 §4.
    device_authorization_endpoint: `${iss}/device_authorization`,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: [...GRANT_HANDLERS.keys()],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
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
      'amr',
      'acr',
      'name',
      'preferred_username',
      'updated_at',
      'email',
      'email_verified',
    ],
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: SIGNING_ALGS,
    revocation_endpoint_auth_methods_supported: [...AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: SIGNING_ALGS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS.filter((m) => m !== 'none'),
    introspection_endpoint_auth_signing_alg_values_supported: SIGNING_ALGS,
    code_challenge_methods_supported: ['S256'],
    // RFC 9449 §5.1.
    dpop_signing_alg_values_supported: [...DPOP_ALGS_ADVERTISED],
    prompt_values_supported: ['none', 'login', 'consent'],
    // OIDC Discovery §3; the levels of auth/sign-in-policy.ts.
    acr_values_supported: ACR_VALUES_SUPPORTED,
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    // RFC 9101: request objects by value, signed with the application's registered keys.
    request_parameter_supported: true,
    request_object_signing_alg_values_supported: ASYMMETRIC_ALGS.filter((a) => a !== 'Ed25519'),
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
    // RFC 8414 §2: only when LATCHKEY_REGISTRATION lets clients register (RFC 7591 §3).
    ...(ctx.config.registration !== 'off' ? { registration_endpoint: `${iss}/register` } : {}),
    // draft-ietf-oauth-client-id-metadata-document §5 (the MCP authorization spec looks for it).
    ...(ctx.config.clientMetadataDocuments ? { client_id_metadata_document_supported: true } : {}),
  };
}

/**
 * Where an issuer with a path (`https://id.example.com/tenant1`) is also looked up, beyond the
 * two root locations: RFC 8414 §3.1 inserts the well-known suffix before the path
 * (`/.well-known/oauth-authorization-server/tenant1`), OIDC Discovery 1.0 §4 appends it
 * (`/tenant1/.well-known/openid-configuration`), and MCP clients also try the OIDC name inserted
 * (`/.well-known/openid-configuration/tenant1`). None for an issuer without a path. The path
 * is literal (config.ts refuses an issuer path the router cannot match).
 */
export function issuerPathDiscoveryPaths(issuer: string): string[] {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  if (path === '') return [];
  return [
    insertWellKnown('oauth-authorization-server', path),
    insertWellKnown('openid-configuration', path),
    `${path}/.well-known/openid-configuration`,
  ];
}

export function discoveryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const cors = { cors: true };
  const sendDoc = getDiscoveryDocument(ctx);
  app.get('/.well-known/openid-configuration', { config: cors }, sendDoc);
  app.get('/.well-known/oauth-authorization-server', { config: cors }, sendDoc);
  // The same document at every location of an issuer with a path.
  for (const path of issuerPathDiscoveryPaths(ctx.config.issuer))
    app.get(fastifyRoute(path), { config: cors }, sendDoc);
  app.get('/jwks', { config: cors }, getJwks(ctx));
  app.get('/healthz', getHealthz());
  app.get('/assets/latchkey.css', getStylesheet());
  app.get('/assets/webauthn.js', getWebauthnScript());
  app.get('/assets/passkeys.js', getPasskeyScript());
}

/**
 * GET /.well-known/openid-configuration and /.well-known/oauth-authorization-server (and the
 * issuer-path locations above).
 */
export function getDiscoveryDocument(ctx: ServerContext): RouteHandlerMethod {
  // Built once: the document depends only on configuration.
  const doc = JSON.stringify(discoveryDocument(ctx));
  return async (_req, reply) =>
    reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(doc);
}

/** GET /jwks: the published signing keys (tokens/keys.ts). */
export function getJwks(ctx: ServerContext): RouteHandlerMethod {
  // LATCHKEY_JWKS_MAX_AGE (default 60 s): the key publication delay must exceed it plus the
  // resource servers' re-fetch cool-down (config.ts minSafePublicationDelaySec).
  const jwksCacheControl = `public, max-age=${ctx.config.jwksMaxAgeSec}`;
  return async (_req, reply) =>
    reply
      .header('content-type', 'application/jwk-set+json')
      .header('cache-control', jwksCacheControl)
      .send(await ctx.keys.jwks());
}

/** GET /healthz: the process answers (readiness, with the database, is /readyz in ops.ts). */
export function getHealthz(): RouteHandlerMethod {
  return async () => ({ status: 'ok' });
}

/** GET /assets/latchkey.css: the one stylesheet of every page. */
export function getStylesheet(): RouteHandlerMethod {
  return async (_req, reply) =>
    reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(STYLESHEET);
}

/** GET /assets/webauthn.js: @simplewebauthn/browser's bundle, served by us (no CDN). */
export function getWebauthnScript(): RouteHandlerMethod {
  const require = createRequire(import.meta.url);
  // The package's own bundle, next to the entry point `require` resolves.
  const bundle = join(
    dirname(require.resolve('@simplewebauthn/browser')),
    '..',
    'dist/bundle/index.umd.min.js',
  );
  const body = readFileSync(bundle, 'utf8');
  return async (_req, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(body);
}

/** GET /assets/passkeys.js: the passkey forms' script (ui/passkey-script.ts). */
export function getPasskeyScript(): RouteHandlerMethod {
  return async (_req, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(PASSKEY_SCRIPT);
}
