/**
 * RFC 9728 protected-resource metadata: the document that tells a client which authorization
 * servers issue tokens for this API, and where it is served (Express middleware, a Fastify
 * route). express and fastify are imported as types only.
 *
 *   app.use(expressProtectedResource({ resource: 'https://api.example.com/mcp', authorizationServers: [issuer] }))
 *   fastifyProtectedResource(app, { resource, authorizationServers: [issuer], scopesSupported: ['profile'] })
 */
import type { NextFunction, Request, Response } from 'express';
import type { FastifyInstance } from 'fastify';
import { fastifyRoute, insertWellKnown, isLiteralPath } from '../protocol/well-known.js';
import { VerificationError } from './errors.js';

export interface ProtectedResourceOptions {
  /**
   * The resource identifier (RFC 9728 §1.2): the API's URL as its clients call it, https (http
   * on a loopback host, for development), without query or fragment.
   */
  resource: string;
  /** Issuer identifiers of the authorization servers whose tokens the API accepts (at least one). */
  authorizationServers: string[];
  /** Scopes a client may request for this API (omitted from the document when empty). */
  scopesSupported?: string[];
  /** A human-readable name of the API. */
  resourceName?: string;
  /** Default `['header']`: the Latchkey guards read tokens from the Authorization header only. */
  bearerMethodsSupported?: string[];
  /** For a resource with a path: also serve the document at the bare `/.well-known/oauth-protected-resource`. */
  alsoAtRoot?: boolean;
}

/** RFC 9728 §3: the well-known URI suffix registered for protected-resource metadata. */
export const PROTECTED_RESOURCE_WELL_KNOWN = 'oauth-protected-resource';

/** RFC 6750 §2: the ways a bearer token can be presented. */
const BEARER_METHODS = new Set(['header', 'body', 'query']);
/** RFC 6749 §3.3: scope-token = 1*NQCHAR. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const argError = (msg: string) =>
  new VerificationError('LATCHKEY_INVALID_ARGUMENT', msg, { error: 'invalid_request', status: 500 });

const isLoopbackHost = (host: string) =>
  host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/**
 * An https URL (http on loopback) without credentials, query or fragment: RFC 9728 §1.2 for a
 * resource identifier, RFC 8414 §2 for an issuer identifier.
 */
function checkUrl(value: unknown, what: string): URL {
  if (typeof value !== 'string' || value === '') throw argError(`${what} must be a non-empty string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw argError(`${what} must be an absolute URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    throw argError(`${what} must use https (http only on a loopback host): ${value}`);
  if (url.username || url.password) throw argError(`${what} must not carry credentials: ${value}`);
  if (url.hash || value.includes('#')) throw argError(`${what} must not have a fragment: ${value}`);
  if (url.search || value.includes('?')) throw argError(`${what} must not have a query: ${value}`);
  return url;
}

function checkResource(value: unknown): URL {
  const url = checkUrl(value, 'resource');
  if (!isLiteralPath(url.pathname))
    throw argError(
      `resource's path may hold only letters, digits, "/" and - . _ ~ ! $ & ' ( ) + , ; = : @ (no percent-encoding): ${String(value)}`,
    );
  return url;
}

/**
 * The paths the document is served at (RFC 9728 §3.1: the well-known suffix inserted between
 * the host and the resource's path). A path with a terminating "/" is served both as written
 * and without that slash (RFC 8414 §3.1 removes it; clients differ on which they ask for).
 */
function metadataPaths(url: URL, alsoAtRoot: boolean): string[] {
  const path = url.pathname;
  const paths = [insertWellKnown(PROTECTED_RESOURCE_WELL_KNOWN, path)];
  if (path.length > 1 && path.endsWith('/'))
    paths.push(insertWellKnown(PROTECTED_RESOURCE_WELL_KNOWN, path.replace(/\/+$/, '')));
  if (alsoAtRoot) paths.push(insertWellKnown(PROTECTED_RESOURCE_WELL_KNOWN, ''));
  return [...new Set(paths)];
}

/**
 * The URL of a resource's metadata document (RFC 9728 §3.1), for
 * `GuardOptions.resourceMetadataUrl`: `https://api.example.com/mcp` →
 * `https://api.example.com/.well-known/oauth-protected-resource/mcp`.
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = checkResource(resource);
  return `${url.origin}${metadataPaths(url, false)[0]!}`;
}

/** The RFC 9728 §2 document; throws VerificationError LATCHKEY_INVALID_ARGUMENT for bad options. */
export function protectedResourceMetadata(opts: ProtectedResourceOptions): Record<string, unknown> {
  if (typeof opts !== 'object' || opts === null) throw argError('options must be an object');
  checkResource(opts.resource);
  const servers = opts.authorizationServers;
  if (!Array.isArray(servers) || servers.length === 0)
    throw argError('authorizationServers must list at least one issuer');
  for (const [i, s] of servers.entries()) checkUrl(s, `authorizationServers[${i}]`);
  const scopes = opts.scopesSupported ?? [];
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s)))
    throw argError('scopesSupported must be a list of scope names (RFC 6749 §3.3: no spaces or quotes)');
  const methods = opts.bearerMethodsSupported ?? ['header'];
  if (!Array.isArray(methods) || methods.some((m) => !BEARER_METHODS.has(m)))
    throw argError('bearerMethodsSupported may hold only "header", "body" and "query"');
  if (opts.resourceName !== undefined && (typeof opts.resourceName !== 'string' || opts.resourceName === ''))
    throw argError('resourceName must be a non-empty string');
  if (opts.alsoAtRoot !== undefined && typeof opts.alsoAtRoot !== 'boolean')
    throw argError('alsoAtRoot must be a boolean');

  // §3.3: `resource` is the identifier exactly as the client derives the location from it.
  const doc: Record<string, unknown> = { resource: opts.resource, authorization_servers: [...servers] };
  // §3.2: a parameter with zero values is omitted.
  if (scopes.length > 0) doc['scopes_supported'] = [...scopes];
  // §2: [] is meaningful here (no bearer method at all), so an empty list is kept.
  doc['bearer_methods_supported'] = [...methods];
  if (opts.resourceName !== undefined) doc['resource_name'] = opts.resourceName;
  return doc;
}

/**
 * What the two adapters serve: the document (built once), the paths, the headers. A public
 * document without credentials: any origin may read it (CORS `*`); RFC 9728 §7.10: cacheable.
 */
function served(opts: ProtectedResourceOptions): { body: string; paths: string[] } {
  const body = JSON.stringify(protectedResourceMetadata(opts));
  return { body, paths: metadataPaths(new URL(opts.resource), opts.alsoAtRoot === true) };
}

const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'public, max-age=300',
  'access-control-allow-origin': '*',
};

/**
 * Express / Connect middleware: answers GET and HEAD at the document's paths (matched on the
 * request's full path, wherever the middleware is mounted) and calls next() for anything else.
 */
export function expressProtectedResource(
  opts: ProtectedResourceOptions,
): (req: Request, res: Response, next: NextFunction) => void {
  const { body, paths } = served(opts);
  const at = new Set(paths);
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = (req.originalUrl ?? req.url).split('?')[0]!;
    if (!at.has(path)) return next();
    res.status(200).set(HEADERS).send(body);
  };
}

/**
 * Registers GET (and Fastify's automatic HEAD) routes for the document on `app`, which must
 * have no route prefix: the location is fixed by the resource identifier, not by the plugin.
 */
export function fastifyProtectedResource(app: FastifyInstance, opts: ProtectedResourceOptions): void {
  const { body, paths } = served(opts);
  if (app.prefix)
    throw argError(`register the metadata routes on an instance without a prefix (${app.prefix})`);
  for (const path of paths)
    app.get(fastifyRoute(path), async (_req, reply) => reply.headers(HEADERS).send(body));
}

/** Checks `GuardOptions.resourceMetadataUrl` when a guard is made (it goes into a quoted-string). */
export function checkResourceMetadataUrl(url: string | undefined): void {
  if (url === undefined) return;
  checkUrl(url, 'resourceMetadataUrl');
  if (/[^\x21\x23-\x5b\x5d-\x7e]/.test(url))
    throw argError('resourceMetadataUrl must be printable ASCII without spaces, quotes or backslashes');
}

/**
 * RFC 9728 §5.1: `resource_metadata="…"` added to a failure's challenge (any scheme: Bearer, or
 * DPoP as the section allows), keeping its other auth-params. No challenge (503), no change.
 */
export function withResourceMetadata(
  headers: Record<string, string>,
  resourceMetadataUrl: string | undefined,
): Record<string, string> {
  const challenge = headers['www-authenticate'];
  if (resourceMetadataUrl === undefined || challenge === undefined) return headers;
  const param = `resource_metadata="${resourceMetadataUrl}"`;
  // A scheme alone takes its first auth-param after a space, the others after a comma.
  const value = /^\S+$/.test(challenge) ? `${challenge} ${param}` : `${challenge}, ${param}`;
  return { ...headers, 'www-authenticate': value };
}
