/**
 * EMQX 3.x/4.x's HTTP auth plugin forms against a real HTTP server: `params = clientid=%c,username=%u,
 * password=%P` (POST, form-encoded) and `access=%A,username=%u,clientid=%c,ipaddr=%a,topic=%t` (GET), with
 * the answer read from the status alone: 200 allows, 4xx denies.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { loginCode, RC } from './helpers.js';

interface Seen {
  path: string;
  method: string;
  type: string;
  fields: Record<string, string>;
}

describe('http: the EMQX 4.x auth_req / super_req / acl_req forms', () => {
  let http: Server;
  let b: TestBroker;
  const seen: Seen[] = [];

  before(async () => {
    http = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => {
        text += d.toString();
      });
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const fields = Object.fromEntries(
          req.method === 'GET' ? url.searchParams : new URLSearchParams(text),
        ) as Record<string, string>;
        seen.push({
          path: url.pathname,
          method: req.method ?? '',
          type: req.headers['content-type'] ?? '',
          fields,
        });
        let ok = false;
        if (url.pathname === '/mqtt/auth') ok = fields.password === `pw-${fields.username}`;
        if (url.pathname === '/mqtt/acl') ok = fields.topic?.startsWith('ok/') === true;
        if (url.pathname === '/mqtt/superuser') ok = fields.username === 'root';
        // A 4.x server answers with a status and whatever text it likes.
        res.writeHead(ok ? 200 : 401, { 'content-type': 'text/plain' });
        res.end(ok ? 'ok' : 'no');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'password_based',
            backend: 'http',
            method: 'post',
            url: `${base}/mqtt/auth`,
            params: 'clientid=%c,username=%u,password=%P',
            super_req: { url: `${base}/mqtt/superuser`, method: 'post', params: 'clientid=%c,username=%u' },
          },
        ],
        authorization: {
          no_match: 'allow',
          sources: [
            {
              type: 'http',
              method: 'get',
              url: `${base}/mqtt/acl`,
              params: 'access=%A,username=%u,clientid=%c,ipaddr=%a,topic=%t',
            },
          ],
        },
      },
    });
  });
  after(async () => {
    await b?.stop();
    await new Promise((r) => http.close(r));
  });

  it('authenticates with the form-encoded auth_req: 200 allows, 4xx denies', async () => {
    assert.equal(await loginCode(b.port, { clientId: 'h1', username: 'bob', password: 'pw-bob' }), RC.OK);
    assert.equal(
      await loginCode(b.port, { clientId: 'h2', username: 'bob', password: 'wrong' }),
      RC.NOT_AUTHORIZED,
    );
    const auth = seen.find((s) => s.path === '/mqtt/auth' && s.fields.clientid === 'h1')!;
    assert.equal(auth.method, 'POST');
    assert.match(auth.type, /x-www-form-urlencoded/);
    assert.deepEqual(auth.fields, { clientid: 'h1', username: 'bob', password: 'pw-bob' });
  });

  it('authorizes with acl_req: access 1 subscribe, 2 publish', async () => {
    const c = await connectClient(b.port, {
      clientId: 'h3',
      username: 'bob',
      password: 'pw-bob',
      protocolVersion: 5,
    });
    await subscribe(c, 'ok/1', { qos: 0 });
    await assert.rejects(subscribe(c, 'no/1', { qos: 0 }), /authorized/i);
    await publish(c, 'ok/2', 'x', { qos: 1 });
    await assert.rejects(publish(c, 'no/2', 'x', { qos: 1 }), /authorized|135/i);
    await end(c);
    const acl = seen.filter((s) => s.path === '/mqtt/acl' && s.fields.clientid === 'h3');
    const sub = acl.find((s) => s.fields.topic === 'ok/1')!;
    assert.equal(sub.method, 'GET');
    assert.deepEqual(sub.fields, {
      access: '1',
      username: 'bob',
      clientid: 'h3',
      ipaddr: '127.0.0.1',
      topic: 'ok/1',
    });
    assert.equal(acl.find((s) => s.fields.topic === 'ok/2')!.fields.access, '2');
  });

  it('asks super_req after a login: 200 makes a superuser, whom acl_req no longer limits', async () => {
    const root = await connectClient(b.port, { clientId: 'h4', username: 'root', password: 'pw-root' });
    await subscribe(root, 'no/root', { qos: 0 });
    await end(root);
    const ask = seen.find((s) => s.path === '/mqtt/superuser' && s.fields.clientid === 'h4')!;
    assert.equal(ask.method, 'POST');
    assert.deepEqual(ask.fields, { clientid: 'h4', username: 'root' });
    // bob is asked too, answered 401: an ordinary user, still limited by acl_req.
    assert.ok(seen.some((s) => s.path === '/mqtt/superuser' && s.fields.username === 'bob'));
    const bob = await connectClient(b.port, { clientId: 'h5', username: 'bob', password: 'pw-bob' });
    await assert.rejects(subscribe(bob, 'no/bob', { qos: 0 }), /Unspecified error|authorized/i);
    await end(bob);
  });
});
