/**
 * Well-known locations derived from an identifier's path (RFC 8615), for the routes that serve
 * metadata documents: the authorization server's (RFC 8414 §3.1, OIDC Discovery §4) and a
 * protected resource's (RFC 9728 §3.1).
 */

/**
 * A path the router can match literally: RFC 3986 pchars that need no percent-encoding, minus
 * `*` (Fastify's wildcard). Percent-encoded octets are refused because the router compares
 * decoded paths, so an encoded route would never match.
 */
const LITERAL_PATH = /^(\/[A-Za-z0-9\-._~!$&'()+,;=:@]*)*$/;

export const isLiteralPath = (path: string): boolean => LITERAL_PATH.test(path);

/** The Fastify (find-my-way) route of a literal path: `:` would start a parameter, `::` is a colon. */
export const fastifyRoute = (path: string): string => path.replaceAll(':', '::');

/**
 * RFC 8414 §3.1 and RFC 9728 §3.1: the well-known suffix goes between the host and the path,
 * `/.well-known/<name>` followed by the path (none for a bare host or `/`).
 */
export function insertWellKnown(name: string, path: string): string {
  return path === '' || path === '/' ? `/.well-known/${name}` : `/.well-known/${name}${path}`;
}
