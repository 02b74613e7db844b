/**
 * Serves the dashboard (the Vite build in dist/web) at `/`: files as they are, `index.html` for any other
 * GET so deep links such as /gateways/stomp/clients open the app. It runs as the not-found handler, so
 * every route the API declares (/api/v5/*, /api-docs, /status) wins, and API-looking paths keep their JSON
 * 404. Built files carry a content hash in their names (assets/), so they are cached for a year; index.html
 * is revalidated on every load so a new build is picked up.
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
  if ((await fileAt(index)) === undefined) {
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
    void reply
      .type(TYPES[extname(wanted).toLowerCase()] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('last-modified', file.mtime.toUTCString())
      .header('x-content-type-options', 'nosniff')
      .send(req.method === 'HEAD' ? undefined : await readFile(wanted));
    return true;
  }
  // A missing asset is a 404 (a stale tab asking for an old hash), not the app.
  if (path.startsWith('/assets/') || (extname(path) !== '' && extname(path) !== '.html')) {
    void reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    return true;
  }
  void reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(req.method === 'HEAD' ? undefined : await readFile(index));
  return true;
}
