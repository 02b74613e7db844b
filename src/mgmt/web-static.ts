/**
 * Serves the dashboard (the Vite build in dist/web) at `/`: files as they are, `index.html` for any other
 * GET so deep links such as /gateways/stomp/clients open the app. It runs as the not-found handler, so
 * every route the API declares (/api/v5/*, /api-docs, /status) wins, and API-looking paths keep their JSON
 * 404. Built files carry a content hash in their names (assets/), so they are cached for a year; index.html
 * is revalidated on every load so a new build is picked up. scripts/build-web.mjs writes <file>.br and
 * <file>.gz beside each text file; those are sent to a browser that accepts them (a quarter of the bytes on
 * a first load) without compressing anything per request.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** dist/src/mgmt/web-static.js → dist/web. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** Paths that belong to the API side: never answered with the app. */
const API_PREFIXES = ['/api/', '/api-docs', '/status'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT = [
  'The Hermod dashboard is not built.',
  '',
  'The REST API is running at /api/v5. To build the web dashboard, run in the Hermod directory:',
  '',
  '    npm run build:web',
  '',
  'then reload this page (no restart needed).',
  '',
].join('\n');

/** Precompressed siblings, best first: brotli is ~15% smaller than gzip on these files. */
const ENCODINGS: Array<{ name: string; ext: string }> = [
  { name: 'br', ext: '.br' },
  { name: 'gzip', ext: '.gz' },
];

/** Whether Accept-Encoding lists `name` with a non-zero q (`gzip;q=0` refuses it). */
function accepts(header: string | string[] | undefined, name: string): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.split(',')) {
    const [token, ...params] = part.trim().split(';');
    const t = token!.trim().toLowerCase();
    if (t !== name && t !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * Sends `path` (found at `file`) with the given type and cache headers, as its precompressed sibling when
 * the browser accepts one. `vary` is set on every compressible answer so a shared cache keeps the encodings
 * apart.
 */
async function sendFile(
  req: FastifyRequest,
  reply: FastifyReply,
  path: string,
  file: { mtime: Date },
  cacheControl: string,
): Promise<void> {
  let body = path;
  let compressible = false;
  for (const enc of ENCODINGS) {
    if ((await fileAt(path + enc.ext)) === undefined) continue;
    compressible = true;
    if (!accepts(req.headers['accept-encoding'], enc.name)) continue;
    body = path + enc.ext;
    void reply.header('content-encoding', enc.name);
    break;
  }
  if (compressible) void reply.header('vary', 'accept-encoding');
  void reply
    .type(TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream')
    .header('cache-control', cacheControl)
    .header('last-modified', file.mtime.toUTCString())
    .header('x-content-type-options', 'nosniff')
    .send(req.method === 'HEAD' ? undefined : await readFile(body));
}

export function isApiPath(path: string): boolean {
  return path === '/api' || API_PREFIXES.some((p) => path.startsWith(p));
}

async function fileAt(path: string): Promise<{ size: number; mtime: Date } | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Answers a request the API has no route for with a dashboard file; returns false when it is not the
 * dashboard's to answer (non-GET, API paths), so the caller sends its JSON 404.
 */
export async function serveWeb(
  req: FastifyRequest,
  reply: FastifyReply,
  root: string = WEB_ROOT,
): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  let path: string;
  try {
    path = decodeURIComponent(req.url.split('?')[0]!);
  } catch {
    return false;
  }
  if (isApiPath(path)) return false;
  const index = join(root, 'index.html');
  const indexFile = await fileAt(index);
  if (indexFile === undefined) {
    void reply
      .code(503)
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(NOT_BUILT);
    return true;
  }
  // normalize() folds any ../ away; the prefix check keeps the answer inside root whatever the URL held.
  const wanted = normalize(join(root, path));
  const inside = wanted.startsWith(root.endsWith(sep) ? root : root + sep);
  const file = inside && path !== '/' ? await fileAt(wanted) : undefined;
  if (file !== undefined) {
    const immutable = path.startsWith('/assets/');
    const cache = immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
    await sendFile(req, reply, wanted, file, cache);
    return true;
  }
  // A missing asset is a 404 (a stale tab asking for an old hash), not the app.
  if (path.startsWith('/assets/') || (extname(path) !== '' && extname(path) !== '.html')) {
    void reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    return true;
  }
  await sendFile(req, reply, index, indexFile, 'no-cache');
  return true;
}
