/**
 * The dashboard file handler on its own: a missing build answers a page saying how to build it, and the
 * precompressed files scripts/build-web.mjs writes are sent only to a browser that accepts them.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { fastify } from 'fastify';
import { serveWeb } from '../../src/mgmt/web-static.js';

describe('dashboard files', () => {
  const empty = mkdtempSync(join(tmpdir(), 'hermod-web-'));
  const app = fastify();
  app.setNotFoundHandler(async (req, reply) => {
    if (await serveWeb(req, reply, empty)) return reply;
    return reply.code(404).send({ code: 'NOT_FOUND', message: 'Request Path Not Found' });
  });
  after(async () => {
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('explains how to build the dashboard when dist/web is missing', async () => {
    const res = await app.inject({ method: 'GET', url: '/gateways' });
    assert.equal(res.statusCode, 503);
    assert.match(res.headers['content-type'] as string, /text\/plain/);
    assert.match(res.body, /npm run build:web/);
  });

  it('leaves API paths and other methods to the API', async () => {
    const api = await app.inject({ method: 'GET', url: '/api/v5/nothing' });
    assert.equal(api.statusCode, 404);
    assert.equal(api.json().code, 'NOT_FOUND');
    const post = await app.inject({ method: 'POST', url: '/gateways' });
    assert.equal(post.json().code, 'NOT_FOUND');
  });
});

describe('dashboard files, precompressed', () => {
  const root = mkdtempSync(join(tmpdir(), 'hermod-web-'));
  const script = `export const app = ${JSON.stringify('x'.repeat(4000))};\n`;
  const html = `<!doctype html><title>Hermod</title><script src="/assets/app.js"></script>${' '.repeat(2000)}`;
  mkdirSync(join(root, 'assets'));
  // What scripts/build-web.mjs leaves in dist/web: each file with its .br and .gz beside it.
  for (const [name, text] of [
    ['assets/app.js', script],
    ['index.html', html],
  ] as const) {
    writeFileSync(join(root, name), text);
    writeFileSync(join(root, `${name}.gz`), gzipSync(text));
    writeFileSync(join(root, `${name}.br`), brotliCompressSync(text));
  }
  writeFileSync(join(root, 'favicon.svg'), '<svg/>');
  const app = fastify();
  app.setNotFoundHandler(async (req, reply) => {
    if (await serveWeb(req, reply, root)) return reply;
    return reply.code(404).send({ code: 'NOT_FOUND', message: 'Request Path Not Found' });
  });
  after(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });
  const get = (url: string, acceptEncoding?: string) =>
    app.inject({
      method: 'GET',
      url,
      headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
    });

  it('sends brotli to a browser that accepts it, gzip to one that accepts only gzip', async () => {
    const br = await get('/assets/app.js', 'gzip, deflate, br, zstd');
    assert.equal(br.statusCode, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'accept-encoding');
    assert.match(br.headers['content-type'] as string, /text\/javascript/);
    assert.ok(br.rawPayload.length < script.length / 4, `${br.rawPayload.length} bytes sent`);
    assert.equal(brotliDecompressSync(br.rawPayload).toString(), script);

    const gz = await get('/assets/app.js', 'gzip;q=1.0, br;q=0');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.rawPayload).toString(), script);
  });

  it('sends the file as it is when the browser accepts no encoding', async () => {
    for (const accept of [undefined, 'identity', 'gzip;q=0, br;q=0']) {
      const res = await get('/assets/app.js', accept);
      assert.equal(res.headers['content-encoding'], undefined, `accept-encoding: ${accept}`);
      assert.equal(res.headers.vary, 'accept-encoding');
      assert.equal(res.body, script);
    }
  });

  it('compresses the app page for deep links too, and leaves small files alone', async () => {
    const deep = await get('/gateways/stomp/clients', 'gzip');
    assert.equal(deep.headers['content-encoding'], 'gzip');
    assert.match(deep.headers['content-type'] as string, /text\/html/);
    assert.equal(gunzipSync(deep.rawPayload).toString(), html);
    const icon = await get('/favicon.svg', 'gzip, br');
    assert.equal(icon.headers['content-encoding'], undefined);
    assert.equal(icon.body, '<svg/>');
  });
});
