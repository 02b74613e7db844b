/**
 * EMQX 3.x/4.x's HTTP auth plugin: `params = clientid=%c,username=%u,password=%P` named the request fields
 * (query string for GET, form-encoded body for POST), and the answer was its status alone: 200 allows,
 * 4xx denies. An http authenticator or source given `params` works that way.
 */
import type { HttpConfig } from '../resources/http.js';

/** `a=%u,b=%c` as a field map; a part without '=' is an empty field of that name. */
export function parseLegacyParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) out[item] = '';
    else out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** The request config of a 4.x-form backend: its params as the fields, form-encoded when POSTed. */
export function legacyRequestConfig<T extends HttpConfig>(cfg: T, params: string): T {
  const hasType = Object.keys(cfg.headers).some((k) => k.toLowerCase() === 'content-type');
  const headers = hasType
    ? cfg.headers
    : { ...cfg.headers, 'content-type': 'application/x-www-form-urlencoded' };
  return { ...cfg, headers, body: parseLegacyParams(params) };
}

/** 4.x's reading of an answer: 200 allow, 4xx deny, anything else no decision. */
export function legacyVerdict(status: number): 'allow' | 'deny' | 'ignore' {
  if (status === 200) return 'allow';
  if (status >= 400 && status < 500) return 'deny';
  return 'ignore';
}

/** 4.x's `super_req`: where and how the superuser question is asked. */
export interface SuperReqConfig {
  url: string;
  method: 'get' | 'post';
  headers: Record<string, string>;
  params: string;
}

/**
 * The request of a `super_req`, with the authenticator's timeout and TLS: 4.x shared those between its
 * requests (`auth.http.timeout`, `auth.http.ssl.*`).
 */
export function superRequestConfig<T extends HttpConfig>(base: T, sr: SuperReqConfig): T {
  return legacyRequestConfig(
    { ...base, url: sr.url, method: sr.method, headers: sr.headers, body: {} },
    sr.params,
  );
}
