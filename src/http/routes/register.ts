/**
 * Dynamic Client Registration (RFC 7591 §3) and its management protocol (RFC 7592 §2):
 * POST /register, and GET, PUT, DELETE /register/:client_id, one named handler each. The policy
 * (who may register, the metadata rules, tokens, the per-IP limit, audit) is ClientRegistrar's
 * (admin/registration.ts); here is only HTTP. With LATCHKEY_REGISTRATION=off none of the routes
 * exists (404), and discovery names no registration_endpoint.
 *
 * The body is read as text and parsed here by parseStrictJson (a member named twice is refused,
 * not silently "last one wins"); any content type other than application/json is refused by
 * Fastify (415, answered as invalid_request) before the handler runs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { REGISTRATION_WINDOW_MS, type Registered, RegistrationError } from '../../admin/registration.js';
import type { ServerContext } from '../../context.js';
import { invalidRequest, invalidToken, OAuthError } from '../../protocol/errors.js';
import { parseStrictJson, StrictJsonError } from '../../protocol/strict-json.js';
import type { Client } from '../../storage/types.js';

/** A registration request is a few hundred bytes; an inline JWK Set a few kilobytes. */
export const REGISTRATION_BODY_LIMIT = 16 * 1024;

export function registerRoutes(app: FastifyInstance, ctx: ServerContext): void {
  if (!ctx.registrar.enabled) return;
  // A scope of its own: the JSON body parser is this scope's only one, and it keeps the text.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: REGISTRATION_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.post('/register', postRegister(ctx));
    scope.get('/register/:client_id', getRegistration(ctx));
    scope.put('/register/:client_id', putRegistration(ctx));
    scope.delete('/register/:client_id', deleteRegistration(ctx));
  });
}

/** The RFC 7591 §3.2.2 / RFC 6750 §3.1 error a registrar refusal is answered with. */
function asOAuthError(err: RegistrationError): OAuthError {
  if (err.code === 'invalid_token') return invalidToken(err.message);
  if (err.code === 'slow_down')
    return new OAuthError('slow_down', err.message, {
      status: err.status,
      headers: { 'retry-after': String(REGISTRATION_WINDOW_MS / 1000) },
    });
  return new OAuthError(err.code, err.message, { status: err.status });
}

async function registrar<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RegistrationError) throw asOAuthError(err);
    throw err;
  }
}

/** The JSON object of the body (RFC 7591 §3.1: "a JSON document consisting of a JSON object"). */
function jsonBody(req: FastifyRequest): unknown {
  const text = req.body;
  if (typeof text !== 'string' || text.trim() === '')
    throw invalidRequest('The request body must be a JSON object (Content-Type: application/json).');
  try {
    return parseStrictJson(text);
  } catch (err) {
    if (!(err instanceof StrictJsonError)) throw err;
    // A member named twice is metadata two parsers would read differently (strict-json.ts).
    if (err.kind === 'duplicate')
      throw new OAuthError(
        'invalid_client_metadata',
        `The client metadata names a member twice: ${err.message}.`,
      );
    throw invalidRequest(`The request body is not valid JSON: ${err.message}.`);
  }
}

const registrationUri = (ctx: ServerContext, clientId: string) =>
  `${ctx.config.issuer}/register/${encodeURIComponent(clientId)}`;

/**
 * RFC 7591 §3.2.1 client information response, with RFC 7592 §3's registration_access_token and
 * registration_client_uri: every registered metadata value, as the server holds it (it may have
 * replaced what was sent, e.g. a default client_name).
 */
function clientInformation(
  ctx: ServerContext,
  client: Client,
  registrationAccessToken: string,
  secret?: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    client_id: client.clientId,
    client_id_issued_at: Math.floor(client.createdAt / 1000),
    client_name: client.name,
    application_type: client.type === 'native' ? 'native' : 'web',
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: ['code'],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    registration_access_token: registrationAccessToken,
    registration_client_uri: registrationUri(ctx, client.clientId),
  };
  if (client.postLogoutRedirectUris.length > 0)
    out['post_logout_redirect_uris'] = client.postLogoutRedirectUris;
  if (client.jwks) out['jwks'] = client.jwks;
  if (client.jwksUri) out['jwks_uri'] = client.jwksUri;
  if (secret !== undefined) {
    out['client_secret'] = secret;
    // RFC 7591 §3.2.1: REQUIRED with a secret; 0 means it does not expire.
    out['client_secret_expires_at'] = 0;
  }
  return out;
}

const sendInformation = (reply: FastifyReply, status: number, body: Record<string, unknown>) =>
  // RFC 7591 §3.2.1: credentials in the answer, so never cached.
  reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);

const sent = (ctx: ServerContext, r: Registered) =>
  clientInformation(ctx, r.client, r.registrationAccessToken, r.secret);

/**
 * POST /register (RFC 7591 §3.1): counted against the caller's address, refused without an
 * initial access token (LATCHKEY_REGISTRATION=token), the metadata read, then a use of the token
 * spent and the client made: 201 with its information (§3.2.1), or a JSON error (§3.2.2). A
 * refused metadata request does not spend a use.
 */
export function postRegister(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const made = await registrar(async () => {
      await ctx.registrar.throttle(req.ip);
      const authorization = req.headers.authorization;
      await ctx.registrar.requireToken(authorization, req.ip);
      // The metadata is checked before an initial access token's use is spent on it.
      const metadata = await ctx.registrar.check(jsonBody(req), req.ip);
      const via = await ctx.registrar.admit(authorization, req.ip);
      return ctx.registrar.register(metadata, req.ip, via);
    });
    return sendInformation(reply, 201, sent(ctx, made));
  };
}

/** The client of the path, when the request carries its registration access token (RFC 7592 §2). */
const authenticated = (ctx: ServerContext, req: FastifyRequest) =>
  registrar(() =>
    ctx.registrar.authenticate((req.params as { client_id: string }).client_id, req.headers.authorization),
  );

/** The token the request was authenticated with (authenticate checked its form). */
const presentedToken = (req: FastifyRequest): string =>
  (req.headers.authorization ?? '').replace(/^Bearer[ ]+/i, '').trim();

/**
 * GET /register/:client_id (RFC 7592 §2.1): the client's current information. The registration
 * access token is not rotated on a read; the answer carries the one presented (§3 requires the
 * member). The client_secret is kept hashed, so it cannot be shown again.
 */
export function getRegistration(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const client = await authenticated(ctx, req);
    return sendInformation(reply, 200, clientInformation(ctx, client, presentedToken(req)));
  };
}

/**
 * PUT /register/:client_id (RFC 7592 §2.2): the metadata sent replaces the client's (omitted
 * values are removed or defaulted); client_id must be the client's. The registration access
 * token is rotated: the answer carries the new one, the old one stops working.
 */
export function putRegistration(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const client = await authenticated(ctx, req);
    const body = jsonBody(req);
    // RFC 7592 §2.2: these are the server's, and the request MUST NOT include them.
    if (typeof body === 'object' && body !== null) {
      const own = [
        'registration_access_token',
        'registration_client_uri',
        'client_secret_expires_at',
        'client_id_issued_at',
      ];
      const given = own.filter((k) => k in body);
      if (given.length > 0)
        throw invalidRequest(`An update must not include ${given.join(', ')} (RFC 7592 §2.2).`);
    }
    const updated = await registrar(() => ctx.registrar.update(client, body, req.ip));
    return sendInformation(reply, 200, sent(ctx, updated));
  };
}

/**
 * DELETE /register/:client_id (RFC 7592 §2.3): the client is removed, its grants revoked, and
 * its registration access token dies with it: 204.
 */
export function deleteRegistration(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const client = await authenticated(ctx, req);
    await ctx.registrar.delete(client, req.ip);
    return reply.code(204).header('cache-control', 'no-store').send();
  };
}
