/**
 * HTTP requests for authn and authz backends (Node's fetch). Placeholders are URL-encoded in the URL,
 * JSON- or form-encoded in the body: a value cannot change the request's structure.
 */

import { connect } from 'node:net';
import type { ResourceStatus } from '../authn/types.js';
import { type Lookup, renderMap, Template } from '../template.js';
import { BackendError, withTimeout } from './common.js';

export interface HttpConfig {
  method: 'get' | 'post';
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  request_timeout: number;
}

/** A response as the backends read it. */
export interface HttpAnswer {
  status: number;
  /** Parsed JSON or form body (undefined when empty or unparsable). */
  body: Record<string, unknown> | undefined;
}

const DEFAULT_HEADERS: Record<string, string> = {
  accept: 'application/json',
  'cache-control': 'no-cache',
};
/** Connection management headers are fetch's business (it keeps connections alive by itself). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/** A prepared request template. */
export class HttpRequester {
  private readonly url: Template;
  private readonly headers: Record<string, string>;
  private readonly origin: URL;

  constructor(private readonly cfg: HttpConfig) {
    this.url = new Template(cfg.url);
    // Validate the fixed part of the URL now, so a typo is a config error and not a runtime ignore.
    this.origin = new URL(this.url.text(() => 'x'));
    const h: Record<string, string> = { ...DEFAULT_HEADERS };
    for (const [k, v] of Object.entries(cfg.headers))
      if (!HOP_BY_HOP.has(k.toLowerCase())) h[k.toLowerCase()] = v;
    // EMQX: a GET request never carries a content-type.
    if (cfg.method === 'get') delete h['content-type'];
    else h['content-type'] ??= 'application/json';
    this.headers = h;
  }

  /** Sends the request for one client; BackendError on transport failure or timeout. */
  async send(lookup: Lookup): Promise<HttpAnswer> {
    const url = new URL(this.url.render(lookup, encodeURIComponent) ?? '');
    const body = renderMap(this.cfg.body, lookup) as Record<string, unknown>;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.headers)) headers[k] = new Template(v).text(lookup);
    let payload: string | undefined;
    if (this.cfg.method === 'get') {
      for (const [k, v] of Object.entries(body)) url.searchParams.append(k, scalar(v));
    } else if ((headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
      payload = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, scalar(v)])).toString();
    } else payload = JSON.stringify(body);
    const ctl = new AbortController();
    try {
      const res = await withTimeout(
        fetch(url, { method: this.cfg.method.toUpperCase(), headers, body: payload, signal: ctl.signal }),
        this.cfg.request_timeout,
        'http',
        'request',
      );
      const text = await withTimeout(res.text(), this.cfg.request_timeout, 'http', 'response body');
      return { status: res.status, body: parseBody(text, res.headers.get('content-type') ?? '') };
    } catch (err) {
      ctl.abort();
      if (err instanceof BackendError) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new BackendError(
        'http',
        [cause?.code, cause?.message ?? (err as Error).message].filter(Boolean).join(': '),
      );
    }
  }

  /** Connected when a TCP connection to the server can be opened. */
  status(): Promise<ResourceStatus> {
    const port = Number(this.origin.port) || (this.origin.protocol === 'https:' ? 443 : 80);
    const host = this.origin.hostname.replace(/^\[|\]$/g, '');
    return new Promise((resolve) => {
      const s = connect({ host, port });
      const done = (st: ResourceStatus) => {
        s.destroy();
        resolve(st);
      };
      s.setTimeout(Math.min(this.cfg.request_timeout, 5000), () => done('disconnected'));
      s.once('connect', () => done('connected'));
      s.once('error', () => done('disconnected'));
    });
  }
}

function scalar(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function parseBody(text: string, contentType: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  if (contentType.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    // EMQX also accepts a form-encoded body without the header.
    if (text.includes('=')) return Object.fromEntries(new URLSearchParams(text));
    return undefined;
  }
}
