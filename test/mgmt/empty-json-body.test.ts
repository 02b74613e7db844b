/**
 * Clients that send `content-type: application/json` on every call (Python's urllib, curl scripts) get their
 * bodyless DELETEs and GETs served as EMQX serves them, never "Body cannot be empty" (400): every DELETE of
 * the OpenAPI document is sent that way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InjectedApi, startInjectedApi } from '../helpers/api-inject.js';

const JSON_HEADER = 'application/json';

describe('management API: a JSON content-type with no body', () => {
  let api: InjectedApi;

  before(async () => {
    api = await startInjectedApi();
  });
  after(() => api.stop());

  /** Sends a bodyless request with the JSON header. */
  const bare = (method: 'GET' | 'DELETE' | 'POST', url: string) =>
    api.app.inject({ method, url, headers: { authorization: api.auth, 'content-type': JSON_HEADER } });

  it('serves every documented DELETE', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/api-docs/swagger.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const deletes = Object.entries(doc.paths)
      .filter(([, ops]) => 'delete' in ops)
      .map(([path]) => path.replace(/\{[^}]+\}/g, 'nosuch'));
    assert.ok(deletes.length > 10, `only ${deletes.length} DELETE routes documented`);
    for (const url of deletes) {
      const res = await bare('DELETE', url);
      assert.doesNotMatch(res.body, /Body cannot be empty/, url);
      assert.notEqual(res.statusCode, 415, url);
      assert.ok(res.statusCode < 500, `${url}: ${res.statusCode} ${res.body}`);
    }
  });

  it('deletes for real, and serves GETs, with the header', async () => {
    const created = await api.call('POST', '/banned', { as: 'clientid', who: 'victim' });
    assert.equal(created.status, 200);
    assert.equal((await bare('DELETE', '/api/v5/banned/clientid/victim')).statusCode, 204);
    assert.equal((await bare('GET', '/api/v5/clients')).statusCode, 200);
  });

  it('still refuses a body that is not JSON, and a POST that needs a body', async () => {
    const bad = await api.app.inject({
      method: 'POST',
      url: '/api/v5/banned',
      headers: { authorization: api.auth, 'content-type': JSON_HEADER },
      payload: '{not json',
    });
    assert.equal(bad.statusCode, 400);
    const empty = await bare('POST', '/api/v5/banned');
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().code, 'BAD_REQUEST');
  });
});
