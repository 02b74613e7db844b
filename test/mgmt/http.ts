/** A small REST client for the management API tests (real HTTP against a live node). */
import type { TestBroker } from '../helpers/broker.js';

export interface Res {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly; a wrong field fails the assertion
  body: any;
  text: string;
}

export interface Call {
  body?: unknown;
  /** Authorization header value; undefined: the client's default; null: none. */
  auth?: string | null;
  raw?: string;
  contentType?: string;
  /** Accept header value, when the test asks for a particular representation. */
  accept?: string;
}

/** Calls the API with a default Authorization (set after login). */
export class ApiClient {
  auth: string | undefined;

  constructor(readonly base: string) {}

  async req(method: string, path: string, o: Call = {}): Promise<Res> {
    const headers: Record<string, string> = {};
    const auth = o.auth === undefined ? this.auth : o.auth;
    if (auth !== undefined && auth !== null) headers.authorization = auth;
    if (o.accept !== undefined) headers.accept = o.accept;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await fetch(this.base + path, { method, headers, body });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: see Res.body
    let parsed: any = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text.length > 0)
      parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  get(path: string, o?: Call) {
    return this.req('GET', `/api/v5${path}`, o);
  }
  post(path: string, body?: unknown, o: Call = {}) {
    return this.req('POST', `/api/v5${path}`, { ...o, body });
  }
  put(path: string, body?: unknown, o: Call = {}) {
    return this.req('PUT', `/api/v5${path}`, { ...o, body });
  }
  del(path: string, o?: Call) {
    return this.req('DELETE', `/api/v5${path}`, o);
  }

  /** Logs in and uses the Bearer token from now on. */
  async login(username = 'admin', password = 'public'): Promise<string> {
    const r = await this.post('/login', { username, password }, { auth: null });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
    this.auth = `Bearer ${r.body.token}`;
    return r.body.token as string;
  }
}

/** An API client for a test broker started with `api: true`, logged in as admin. */
export async function adminClient(b: TestBroker): Promise<ApiClient> {
  if (b.apiUrl === undefined) throw new Error('broker started without api: true');
  const c = new ApiClient(b.apiUrl);
  await c.login();
  return c;
}

export function basic(key: string, secret: string): string {
  return `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
}
