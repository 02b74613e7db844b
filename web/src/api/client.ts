/**
 * The one way pages talk to the REST API (/api/v5). Every failure becomes an `ApiError` carrying the
 * server's `{code, message}` (or a clear network/parse message), which `showError` puts on screen. A 401 on
 * any call but login ends the session and sends the user to the login page.
 */
import { ElMessage } from 'element-plus';
import { t } from '../i18n';
import { clearSession, currentSession } from './session';

export const API_BASE = '/api/v5';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The text users see: `CODE: message`, as the API wrote it. */
  get text(): string {
    return this.code === '' ? this.message : `${this.code}: ${this.message}`;
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

/** Called when the session ended (401); the router sets it to go to the login page. */
let onUnauthorized: (() => void) | undefined;
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

function url(path: string, query?: Query): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return `${API_BASE}${path}${s === '' ? '' : `?${s}`}`;
}

function isErrorBody(v: unknown): v is { code: string; message: string } {
  return typeof v === 'object' && v !== null && 'code' in v && 'message' in v;
}

async function parse(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined;
  const text = await res.text();
  if (text === '') return undefined;
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `The server sent malformed JSON (HTTP ${res.status})`);
  }
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Sent as is (multipart uploads); the browser sets the content type. */
  form?: FormData;
  /** Do not end the session on 401 (the login call itself). */
  noAuth?: boolean;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const session = currentSession();
  if (session !== undefined && opts.noAuth !== true) headers.authorization = `Bearer ${session.token}`;
  let body: BodyInit | undefined;
  if (opts.form !== undefined) body = opts.form;
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url(path, opts.query), { method, headers, body });
  } catch (err) {
    throw new ApiError(0, 'NETWORK_ERROR', t('error.network', { message: (err as Error).message }));
  }
  const data = await parse(res);
  if (res.ok) return data as T;
  if (res.status === 401 && opts.noAuth !== true) {
    clearSession();
    onUnauthorized?.();
  }
  if (isErrorBody(data)) throw new ApiError(res.status, String(data.code), String(data.message));
  throw new ApiError(
    res.status,
    `HTTP_${res.status}`,
    typeof data === 'string' && data !== '' ? data : res.statusText,
  );
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, { query }),
  post: <T>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, { body, query }),
  put: <T>(path: string, body?: unknown, query?: Query) => request<T>('PUT', path, { body, query }),
  del: <T = void>(path: string, query?: Query) => request<T>('DELETE', path, { query }),
  upload: <T>(path: string, form: FormData) => request<T>('POST', path, { form }),
};

/** The text of any error, for inline display. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.text;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Shows an error as a message toast with the API's `{code, message}` text. */
export function showError(err: unknown): void {
  ElMessage({ type: 'error', message: errorText(err), showClose: true, duration: 6000 });
}

/** Runs an action, showing its error (if any); resolves true on success. */
export async function attempt(action: () => Promise<unknown>, success?: string): Promise<boolean> {
  try {
    await action();
    if (success !== undefined) ElMessage({ type: 'success', message: success });
    return true;
  } catch (err) {
    showError(err);
    return false;
  }
}

/** A path segment, encoded (client ids and names may hold `/`, `#`, spaces). */
export const seg = (s: string): string => encodeURIComponent(s);
