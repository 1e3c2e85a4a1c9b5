/**
 * The one lookup of a client by its client_id, for /authorize, /par, /token, /revoke,
 * /introspect, the sign-in and consent pages and logout: a stored application first, else —
 * when LATCHKEY_CLIENT_METADATA_DOCUMENTS is on and the client_id is an https URL — the client
 * its metadata document describes (src/net/client-metadata.ts).
 */
import { ClientMetadataDocumentError, type ClientMetadataDocuments } from '../net/client-metadata.js';
import type { Client, ClientStore } from '../storage/types.js';
import { OAuthError } from './errors.js';

export type ResolveClient = (clientId: string) => Promise<Client | undefined>;

export function clientResolver(
  store: Pick<ClientStore, 'get'>,
  documents: ClientMetadataDocuments | undefined,
): ResolveClient {
  return async (clientId) => {
    const stored = await store.get(clientId);
    if (stored || !documents?.names(clientId)) return stored;
    try {
      return await documents.client(clientId);
    } catch (err) {
      if (!(err instanceof ClientMetadataDocumentError)) throw err;
      // RFC 6749 §5.2 invalid_client, 400 without a WWW-Authenticate challenge (no Authorization
      // header was tried: a document's client is public or uses an assertion); at /authorize an
      // error page, never a redirect (the redirect URI is not established, RFC 6749 §4.1.2.1).
      throw new OAuthError(
        'invalid_client',
        `The application's metadata document could not be used: ${err.message}.`,
        { status: 400, detail: clientId },
      );
    }
  };
}
