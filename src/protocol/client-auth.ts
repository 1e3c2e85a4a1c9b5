/**
 * Client authentication at the token, PAR, revocation and introspection endpoints.
 * RFC 6749 §2.3.1 (client_secret_basic, client_secret_post), §3.2.1 (public clients send
 * client_id), RFC 7523 §2.2 (client_secret_jwt, private_key_jwt: client-assertion.ts); exactly
 * one method per request; secrets compared in constant time against a hash.
 */
import { safeEqual, sha256 } from '../crypto.js';
import type { Client, TokenEndpointAuthMethod } from '../storage/types.js';
import {
  type AssertionDeps,
  assertionSubject,
  JWT_BEARER_ASSERTION,
  verifyClientAssertion,
} from './client-assertion.js';
import { invalidClient, invalidRequest } from './errors.js';
import { assertWellFormed, type Params } from './params.js';

export interface AuthenticatedClient {
  client: Client;
  method: TokenEndpointAuthMethod;
}

export interface ClientAuthDeps {
  getClient(id: string): Promise<Client | undefined>;
  /** What assertions are checked against; without it client_assertion is refused. */
  assertion?: AssertionDeps;
}

/** The methods that authenticate with a JWT (RFC 7523 §2.2). */
export const isJwtMethod = (m: TokenEndpointAuthMethod): boolean =>
  m === 'client_secret_jwt' || m === 'private_key_jwt';

interface BasicCredentials {
  clientId: string;
  secret: string;
}

/** RFC 6749 §2.3.1: both parts are form-urlencoded before base64. */
function parseBasic(header: string): BasicCredentials {
  const m = /^Basic[ ]+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header);
  if (!m) throw invalidClient('The Authorization header is not valid Basic credentials.');
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('The Authorization header is not valid Basic credentials.');
  try {
    const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    if (!clientId) throw new Error('empty');
    return { clientId, secret };
  } catch {
    throw invalidClient('The Authorization header is not valid Basic credentials.');
  }
}

const CREDENTIALS = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'];

export async function authenticateClient(
  params: Params,
  authorization: string | undefined,
  depsOrGetClient: ClientAuthDeps | ((id: string) => Promise<Client | undefined>),
): Promise<AuthenticatedClient> {
  const deps: ClientAuthDeps =
    typeof depsOrGetClient === 'function' ? { getClient: depsOrGetClient } : depsOrGetClient;
  const getClient = (id: string) => deps.getClient(id);
  // RFC 6749 §3.2: no parameter twice. A credential the parser could not read (too long, not a
  // string) is refused here too: dropped, it would make a public client's request look like
  // one without a secret. Every caller checks this already; the rule lives where it decides.
  assertWellFormed(params, CREDENTIALS);
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  const hasBasic = authorization !== undefined && /^Basic\b/i.test(authorization);
  if (authorization !== undefined && !hasBasic && !/^(Bearer|DPoP)\b/i.test(authorization)) {
    throw invalidClient('Unsupported Authorization scheme; use Basic.');
  }
  if (hasBasic && bodySecret !== undefined) {
    throw invalidRequest(
      'Use exactly one client authentication method (Basic header or client_secret, not both).',
    );
  }
  if (params.has('client_assertion') || params.has('client_assertion_type')) {
    if (hasBasic || bodySecret !== undefined)
      throw invalidRequest('Use exactly one client authentication method (a client_assertion, or a secret).');
    return authenticateWithAssertion(params, deps);
  }

  let clientId: string | undefined;
  let secret: string | undefined;
  let method: AuthenticatedClient['method'];
  if (hasBasic) {
    const creds = parseBasic(authorization!);
    if (bodyId !== undefined && bodyId !== creds.clientId) {
      throw invalidRequest('client_id in the body differs from the authenticated client.');
    }
    clientId = creds.clientId;
    secret = creds.secret;
    method = 'client_secret_basic';
  } else if (bodySecret !== undefined) {
    clientId = bodyId;
    secret = bodySecret;
    method = 'client_secret_post';
  } else {
    clientId = bodyId;
    method = 'none';
  }
  if (!clientId) throw invalidClient('Client authentication failed: client_id is missing.');
  const client = await getClient(clientId);
  // One message for every failure, so callers cannot probe which client_ids exist.
  // RFC 6749 §5.2: a 401 names the scheme the client may use (Basic) whichever it tried.
  const fail = () => invalidClient('Client authentication failed.', 'Basic');
  if (!client) throw fail();
  // An application registered for a JWT method authenticates only with one.
  if (isJwtMethod(client.tokenEndpointAuthMethod)) throw fail();
  if (client.tokenEndpointAuthMethod === 'none') {
    if (method !== 'none') throw fail();
    return { client, method };
  }
  // Confidential clients may use either secret method (as Keycloak allows); never none.
  if (method === 'none' || secret === undefined || client.secretHash === null) throw fail();
  if (!safeEqual(sha256(secret), client.secretHash)) throw fail();
  return { client, method };
}

/** RFC 7521 §4.2 / RFC 7523 §2.2: `client_assertion_type` and `client_assertion`. */
async function authenticateWithAssertion(params: Params, deps: ClientAuthDeps): Promise<AuthenticatedClient> {
  const type = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  if (type !== JWT_BEARER_ASSERTION)
    throw invalidClient(
      `Client authentication failed: client_assertion_type must be ${JWT_BEARER_ASSERTION}.`,
    );
  if (!assertion) throw invalidClient('Client authentication failed: client_assertion is missing.');
  if (!deps.assertion) throw invalidClient('client_assertion authentication is not supported here.');
  const clientId = assertionSubject(assertion);
  // RFC 7521 §4.2: a client_id beside the assertion must name the same client.
  const bodyId = params.get('client_id');
  if (bodyId !== undefined && bodyId !== clientId)
    throw invalidClient('Client authentication failed: client_id differs from the assertion.');
  const client = await deps.getClient(clientId);
  const generic = () => invalidClient('Client authentication failed.');
  if (!client || !isJwtMethod(client.tokenEndpointAuthMethod)) throw generic();
  await verifyClientAssertion(assertion, client, deps.assertion);
  return { client, method: client.tokenEndpointAuthMethod };
}
