/** The dashboard file handler on its own: a missing build answers a page saying how to build it. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
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
