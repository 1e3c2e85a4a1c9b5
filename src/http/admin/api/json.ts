/**
 * JSON in and out for the admin API handlers: the object body (application/json only, no field
 * it does not know), type checks of its fields, the no-store answer, the `:id` parameter, and
 * the mapping of the admin layer's input errors to 400 (409 for a taken name), never a 500.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiInputError } from '../../../admin/apis.js';
import { ClientInputError } from '../../../admin/clients.js';
import { UserInputError } from '../../../admin/users.js';
import { OAuthError } from '../../../protocol/errors.js';
import { DuplicateError } from '../../../storage/types.js';

export type Json = Record<string, unknown>;

export const bad = (description: string) => new OAuthError('invalid_request', description);
export const notFound = (what = 'There is nothing here.') =>
  new OAuthError('not_found', what, { status: 404 });

/** The `:id` path parameter of the route. */
export const idOf = (req: FastifyRequest): string => (req.params as { id: string }).id;

/** Reads a JSON object body, refusing other content types and fields it does not know. */
export function jsonBody(req: FastifyRequest, allowed: readonly string[]): Json {
  const type = String(req.headers['content-type'] ?? '');
  if (req.body === undefined && type === '') return {};
  if (!/^application\/json\s*(;|$)/i.test(type)) throw bad('The admin API takes application/json bodies.');
  const body = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw bad('The request body must be a JSON object.');
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key))
      throw bad(`Unknown field: ${key.slice(0, 40)}. Known fields: ${allowed.join(', ') || 'none'}.`);
  }
  return body as Json;
}

export function str(b: Json, key: string, required: true): string;
export function str(b: Json, key: string, required?: false): string | undefined;
export function str(b: Json, key: string, required = false): string | undefined {
  const v = b[key];
  if (v === undefined) {
    if (required) throw bad(`${key} is required.`);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`${key} must be a string.`);
  if (v.length > 4096) throw bad(`${key} is too long.`);
  return v;
}

export function nullableStr(b: Json, key: string): string | null | undefined {
  return b[key] === null ? null : str(b, key);
}

export function bool(b: Json, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(`${key} must be true or false.`);
  return v;
}

export function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
}

/** Input errors from the admin layer become 400 (409 for a taken name), never a 500. */
export async function mapped<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof ClientInputError || err instanceof UserInputError || err instanceof ApiInputError)
      throw bad(err.message);
    if (err instanceof DuplicateError) throw new OAuthError('invalid_request', err.message, { status: 409 });
    throw err;
  }
}
