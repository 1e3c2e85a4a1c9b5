/**
 * The one lookup of a client by its client_id, for /authorize, /par, /token, /revoke,
 * /introspect, the sign-in and consent pages and logout: a stored application first, else —
 * when LATCHKEY_CLIENT_METADATA_DOCUMENTS is on and the client_id is an https URL — the client
 * its metadata document describes (src/net/client-metadata.ts).
 */
import { ClientMetadataDocumentError, type ClientMetadataDocuments } from '../net/client-metadata.js';
import type { Client, ClientStore } from '../storage/types.js';
import { invalidClient } from './errors.js';

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
      // RFC 6749 §5.2 invalid_client; at /authorize an error page (the client is not established).
      throw invalidClient(`The application's metadata document could not be used: ${err.message}.`);
    }
  };
}
