import { invalidRequest } from '../errors.js';
import type { AuthorizeCheck } from './request.js';

/** OAuth 2.0 Multiple Response Types §2.1 and Form Post Response Mode: query (default) or form_post. */
export const checkResponseMode: AuthorizeCheck = (ctx) => {
  const mode = ctx.params.get('response_mode');
  if (mode === undefined || mode === 'query') ctx.responseMode = 'query';
  else if (mode === 'form_post') ctx.responseMode = 'form_post';
  else {
    ctx.responseMode = 'query';
    throw invalidRequest('response_mode must be query or form_post.');
  }
};
