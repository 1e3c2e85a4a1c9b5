/**
 * The sample protected API behind `latchkey sample-api` (Fastify):
 *   GET /hello   — any valid access token
 *   GET /profile — a token with scope `profile`
 *   GET /mfa     — a token from a sign-in with a second factor (acr `urn:latchkey:acr:mfa` or
 *                  stronger); else 401 with the RFC 9470 step-up challenge
 *   GET /healthz — open
 * and, given its `resource` URL, its RFC 9728 metadata (Latchkey's issuer as the authorization
 * server), which every challenge names.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { ACR } from '../auth/sign-in-policy.js';
import { requireToken } from './fastify.js';
import { fastifyProtectedResource, protectedResourceMetadataUrl } from './protected-resource.js';
import { type AccessTokenVerifier, createVerifier, type VerifierOptions } from './verifier.js';

export interface SampleApiOptions {
  issuer: string;
  /** Default `api://default` (Latchkey's default access-token audience). */
  audience?: string;
  /** Use this verifier instead of building one from issuer/audience. */
  verifier?: AccessTokenVerifier;
  verifierOptions?: Partial<VerifierOptions>;
  /** The API's URL as clients call it (its RFC 9728 resource identifier): serve its metadata. */
  resource?: string;
}

export function buildSampleApi(opts: SampleApiOptions): FastifyInstance {
  const verifier =
    opts.verifier ??
    createVerifier({
      ...opts.verifierOptions,
      issuer: opts.issuer,
      audience: opts.audience ?? 'api://default',
    });
  const app = Fastify({ logger: false });
  const realm = 'latchkey-sample-api';
  const guard = {
    realm,
    ...(opts.resource ? { resourceMetadataUrl: protectedResourceMetadataUrl(opts.resource) } : {}),
  };
  if (opts.resource)
    fastifyProtectedResource(app, {
      resource: opts.resource,
      authorizationServers: [opts.issuer],
      scopesSupported: ['profile'],
      resourceName: 'Latchkey sample API',
    });

  app.get('/hello', { preHandler: requireToken(verifier, guard) }, async (req) => {
    const { claims, scopes } = req.auth!;
    return { message: `Hello, ${claims.sub}!`, sub: claims.sub, client_id: claims.client_id, scopes };
  });

  app.get(
    '/profile',
    { preHandler: requireToken(verifier, { ...guard, requiredScopes: ['profile'] }) },
    async (req) => {
      const { claims, scopes } = req.auth!;
      return {
        sub: claims.sub,
        client_id: claims.client_id,
        scopes,
        auth_time: claims.auth_time ?? null,
        expires_at: new Date(claims.exp * 1000).toISOString(),
      };
    },
  );

  app.get('/mfa', { preHandler: requireToken(verifier, { ...guard, acrValues: [ACR.mfa] }) }, async (req) => {
    const { claims } = req.auth!;
    return { sub: claims.sub, acr: claims.acr ?? null, auth_time: claims.auth_time ?? null };
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
