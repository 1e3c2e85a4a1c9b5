import { invalidRequest } from '../errors.js';
import type { AuthorizeCheck, Prompt } from './request.js';

const PROMPTS: readonly Prompt[] = ['none', 'login', 'consent', 'select_account'];

/** OIDC Core §3.1.2.1: prompt values, `none` alone; max_age a non-negative integer. */
export const checkPromptAndMaxAge: AuthorizeCheck = (ctx) => {
  const raw = ctx.params.get('prompt');
  const prompt = raw === undefined ? [] : [...new Set(raw.split(' ').filter(Boolean))];
  for (const p of prompt) {
    if (!PROMPTS.includes(p as Prompt)) throw invalidRequest(`Unsupported prompt value: ${p.slice(0, 40)}.`);
  }
  if (prompt.includes('none') && prompt.length > 1)
    throw invalidRequest('prompt=none cannot be combined with other values.');
  ctx.prompt = prompt as Prompt[];
  const maxAge = ctx.params.get('max_age');
  if (maxAge === undefined) ctx.maxAge = null;
  else if (/^\d{1,9}$/.test(maxAge)) ctx.maxAge = Number(maxAge);
  else throw invalidRequest('max_age must be a non-negative whole number of seconds.');
};
