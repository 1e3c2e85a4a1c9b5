/**
 * Pushed Authorization Requests (RFC 9126): what /par keeps and what /authorize takes back.
 *
 * - §2.1: the pushed request holds every authorization request parameter; `request_uri` itself
 *   must not be one of them; the client authenticates as at the token endpoint.
 * - §2.2: the answer names a `urn:ietf:params:oauth:request_uri:` reference and its lifetime.
 * - §4: /authorize gets `client_id` and `request_uri`; the server takes the pushed parameters
 *   and ignores any other on the front channel. We make a reference single-use (as codes are)
 *   and valid only for the client that pushed it.
 * - §5: an application (or the whole server) may require it.
 */

import { randomToken, sha256 } from '../crypto.js';
import type { Client } from '../storage/types.js';
import { requiresPar } from './client-policy.js';
import { invalidRequest, OAuthError } from './errors.js';
import { type ParamRecord, type Params, readParams } from './params.js';

export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/** Parameters that authenticate the client at /par: not part of the authorization request. */
const CLIENT_CREDENTIALS = ['client_secret', 'client_assertion', 'client_assertion_type'];

/** A new reference and the hash it is stored under (the reference itself is never stored). */
export function newRequestUri(): { requestUri: string; hash: string } {
  const secret = randomToken(32);
  return { requestUri: `${REQUEST_URI_PREFIX}${secret}`, hash: sha256(secret) };
}

/** Whether a request_uri names a pushed request (anything else is a reference we do not take). */
export const isPushedReference = (requestUri: string | undefined): boolean =>
  requestUri?.startsWith(REQUEST_URI_PREFIX) === true;

/** The stored hash of a reference, or undefined when it is not one of ours. */
export function requestUriHash(requestUri: string): string | undefined {
  if (!requestUri.startsWith(REQUEST_URI_PREFIX)) return undefined;
  const secret = requestUri.slice(REQUEST_URI_PREFIX.length);
  return /^[A-Za-z0-9_-]{43}$/.test(secret) ? sha256(secret) : undefined;
}

/**
 * The authorization request parameters of a /par body: the body without the client's
 * credentials, with `client_id` set to the authenticated client (Basic authentication carries
 * it in the header). §2.1: a `request_uri` among them is an error.
 */
export function pushedParameters(body: Params, client: Client): ParamRecord {
  if (body.has('request_uri'))
    throw invalidRequest('request_uri must not be sent to the pushed authorization request endpoint.');
  const out = body.toFullRecord();
  for (const name of CLIENT_CREDENTIALS) delete out[name];
  out['client_id'] = client.clientId;
  return out;
}

export const invalidRequestUri = (description: string) => new OAuthError('invalid_request_uri', description);

/**
 * /authorize with a `request_uri`: the pushed request's parameters, taken (once) from the store
 * through `consume`. Throws before any redirect URI is known, so failures render an error page.
 */
export async function takePushedRequest(
  params: Params,
  consume: (hash: string, clientId: string) => Promise<ParamRecord | undefined>,
): Promise<Params> {
  if (params.duplicated.includes('request_uri') || params.malformed.includes('request_uri'))
    throw invalidRequest('request_uri was given more than once or is malformed.');
  if (params.duplicated.includes('client_id')) throw invalidRequest('client_id was given more than once.');
  const clientId = params.get('client_id');
  if (!clientId) throw invalidRequest('The client_id parameter is missing (RFC 9126 §4).');
  const hash = requestUriHash(params.get('request_uri') ?? '');
  const pushed = hash === undefined ? undefined : await consume(hash, clientId);
  if (!pushed)
    throw invalidRequestUri(
      'The request_uri is unknown, already used, expired, or was pushed by another application: push the request again.',
    );
  return readParams(pushed);
}

/** Whether /authorize must refuse a request that did not come through /par (RFC 9126 §5). */
export const parRequired = (client: Client, serverWide: boolean): boolean =>
  serverWide || requiresPar(client);
