/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that
 * is an https URL names a JSON document of the client's metadata, fetched when the client is
 * used — through the guarded fetch (https, public addresses checked at connect time, a short
 * timeout, a size limit, no redirects) — checked, and kept as long as its Cache-Control says
 * (within MAX_CACHE_SEC). The client it describes is built by ClientAdmin's rules, as a public
 * client or a private_key_jwt one; it is a third party (consent always asked).
 */
import type { NewClientInput } from '../admin/client-settings.js';
import { ClientInputError } from '../admin/clients.js';
import type { Clock } from '../clock.js';
import { ClientMetadataError, readClientMetadata } from '../protocol/client-metadata.js';
import { parseStrictJson } from '../protocol/strict-json.js';
import type { Client } from '../storage/types.js';
import { fetchJsonDocument, GuardedFetchError } from './guarded-fetch.js';

/** Small: a document is a few hundred bytes (the draft, §6: servers should limit it, e.g. to 5 KB). */
export const METADATA_MAX_BYTES = 5 * 1024;
export const METADATA_TIMEOUT_MS = 3000;
/** Kept this long when the answer says nothing about caching. */
export const METADATA_DEFAULT_CACHE_SEC = 300;
export const METADATA_MAX_CACHE_SEC = 86400;
const MAX_ENTRIES = 1000;
/**
 * Fetches of different documents at once, at most: every request naming a new URL makes the
 * server fetch it (draft §6 on the fetch as an attack vector), so their number is bounded.
 */
export const METADATA_MAX_IN_FLIGHT = 32;

export class ClientMetadataDocumentError extends Error {
  override name = 'ClientMetadataDocumentError';
}

/**
 * draft §3: an https URL with a path, no fragment, no credentials, no dot segments. http only for
 * a loopback host, and only in development (LATCHKEY_DEV_ALLOW_LOCAL_CLIENT_METADATA).
 */
export function isClientIdUrl(id: string, allowLocal: boolean): boolean {
  if (!id.startsWith('https://') && !(allowLocal && id.startsWith('http://'))) return false;
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    return false;
  }
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return false;
  if (url.hash || id.includes('#') || url.username || url.password) return false;
  if (url.pathname === '/' || url.pathname === '') return false;
  const rawPath = id.slice(id.indexOf('/', id.indexOf('//') + 2)).split('?')[0]!;
  return !rawPath.split('/').some((seg) => seg === '.' || seg === '..');
}

export interface MetadataDocumentOptions {
  /** Loopback addresses and http there: development and tests only. */
  allowLocal: boolean;
  timeoutMs?: number;
  maxBytes?: number;
  /** METADATA_MAX_IN_FLIGHT unless set (tests). */
  maxInFlight?: number;
}

export class ClientMetadataDocuments {
  readonly #cache = new Map<string, { client: Client; until: number }>();
  readonly #inFlight = new Map<string, Promise<Client>>();

  constructor(
    private readonly clock: Clock,
    /** ClientAdmin.build: the same rules as every other application. */
    private readonly build: (input: NewClientInput) => { client: Client },
    private readonly opts: MetadataDocumentOptions,
  ) {}

  /** Whether `clientId` names a metadata document (else it is looked up as stored). */
  names(clientId: string): boolean {
    return isClientIdUrl(clientId, this.opts.allowLocal);
  }

  /** The client `url` describes; throws ClientMetadataDocumentError with a reason people can read. */
  async client(url: string): Promise<Client> {
    if (!this.names(url)) throw new ClientMetadataDocumentError('the client_id is not a usable https URL');
    const cached = this.#cache.get(url);
    if (cached && cached.until > this.clock.now()) return cached.client;
    // One fetch for many concurrent requests of the same client.
    const pending = this.#inFlight.get(url);
    if (pending) return pending;
    if (this.#inFlight.size >= (this.opts.maxInFlight ?? METADATA_MAX_IN_FLIGHT))
      throw new ClientMetadataDocumentError(
        'too many application documents are being fetched now; try again',
      );
    const fetching = this.#fetch(url).finally(() => this.#inFlight.delete(url));
    this.#inFlight.set(url, fetching);
    return fetching;
  }

  async #fetch(url: string): Promise<Client> {
    let doc: Awaited<ReturnType<typeof fetchJsonDocument>>;
    try {
      doc = await fetchJsonDocument(url, {
        allowLoopback: this.opts.allowLocal,
        timeoutMs: this.opts.timeoutMs ?? METADATA_TIMEOUT_MS,
        maxBytes: this.opts.maxBytes ?? METADATA_MAX_BYTES,
        // A member named twice is refused, as at /register (protocol/strict-json.ts).
        parse: parseStrictJson,
      });
    } catch (err) {
      if (err instanceof GuardedFetchError) throw new ClientMetadataDocumentError(err.message);
      throw err;
    }
    const client = this.#check(url, doc.body);
    const lifetime = Math.min(doc.maxAgeSec ?? METADATA_DEFAULT_CACHE_SEC, METADATA_MAX_CACHE_SEC);
    if (lifetime > 0) {
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(url, { client, until: this.clock.now() + lifetime * 1000 });
    } else this.#cache.delete(url);
    return client;
  }

  #check(url: string, body: unknown): Client {
    // draft §4: the document's client_id is the URL it was fetched from, compared as strings.
    const id = (body as { client_id?: unknown } | null)?.client_id;
    if (typeof body !== 'object' || body === null || id !== url)
      throw new ClientMetadataDocumentError("the document's client_id is not the URL it was fetched from");
    try {
      const { input } = readClientMetadata(body, 'metadata_document', new URL(url).host);
      return this.build({ ...input, clientId: url }).client;
    } catch (err) {
      if (err instanceof ClientMetadataError || err instanceof ClientInputError)
        throw new ClientMetadataDocumentError(err.message);
      throw err;
    }
  }
}
