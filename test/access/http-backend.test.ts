import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { loginCode, RC } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server answering per path, recording what it was asked. */
async function backend(
  handler: (s: Seen) => { status: number; body?: string; type?: string; delay?: number },
) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      const r = handler(s);
      setTimeout(() => {
        res.statusCode = r.status;
        if (r.type !== undefined) res.setHeader('content-type', r.type);
        res.end(r.body ?? '');
      }, r.delay ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    seen,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => server.close(),
  };
}

describe('password_based:http and the http authorization source', () => {
  let b: TestBroker;
  let srv: Awaited<ReturnType<typeof backend>>;

  before(async () => {
    srv = await backend((s) => {
      const q = new URL(s.url, 'http://x').searchParams;
      const body = s.body === '' ? {} : (JSON.parse(s.body) as Record<string, string>);
      if (s.url.startsWith('/authn')) {
        const user = body.username ?? q.get('username');
        if (user === 'slow')
          return { status: 200, body: '{"result":"allow"}', type: 'application/json', delay: 3000 };
        if (user === 'admin')
          return {
            status: 200,
            body: JSON.stringify({ result: 'allow', is_superuser: 1, client_attrs: { role: 'ops' } }),
            type: 'application/json',
          };
        if (user === 'nocontent') return { status: 204 };
        if (user === 'form')
          return {
            status: 200,
            body: 'result=allow&is_superuser=false',
            type: 'application/x-www-form-urlencoded',
          };
        if (user === 'deny') return { status: 200, body: '{"result":"deny"}', type: 'application/json' };
        if (user === 'boom') return { status: 500, body: 'oops' };
        if (user === 'acl')
          return {
            status: 200,
            body: JSON.stringify({
              result: 'allow',
              acl: [
                { permission: 'allow', action: 'all', topic: 'mine/#' },
                { permission: 'deny', action: 'all', topic: '#' },
              ],
            }),
            type: 'application/json',
          };
        return { status: 200, body: '{"result":"ignore"}', type: 'application/json' };
      }
      // authz: POST {topic, action, username}
      if (body.topic?.startsWith('allowed/')) return { status: 204 };
      if (body.topic?.startsWith('denied/'))
        return { status: 200, body: '{"result":"deny"}', type: 'application/json' };
      return { status: 404 };
    });
    b = await startBroker({
      config: {
        authentication: [
          {
            mechanism: 'password_based',
            backend: 'http',
            method: 'post',
            url: `${srv.url}/authn/\${clientid}`,
            headers: { 'x-node': 'hermod' },
            body: { username: '${username}', password: '${password}', peer: '${peerhost}' },
            request_timeout: '1s',
          },
          { mechanism: 'password_based', backend: 'built_in_database' },
        ],
        listeners: {
          tcp: {
            get: {
              bind: '127.0.0.1:0',
              authentication: [
                {
                  mechanism: 'password_based',
                  backend: 'http',
                  method: 'get',
                  url: `${srv.url}/authn`,
                  body: { username: '${username}' },
                },
              ],
            },
          },
        },
        authorization: {
          no_match: 'deny',
          sources: [
            {
              type: 'http',
              method: 'post',
              url: `${srv.url}/authz`,
              body: {
                topic: '${topic}',
                action: '${action}',
                username: '${username}',
                qos: '${qos}',
                access: '${access}',
              },
            },
          ],
        },
      },
    });
    await b.node.authn
      .users('mqtt:global', 'password_based:built_in_database')!
      .add({ user_id: 'local', password: 'pw' });
  });
  after(async () => {
    await b.stop();
    srv.close();
  });

  it('POSTs JSON with rendered placeholders and follows result allow / deny / ignore / 204 / form', async () => {
    assert.equal(await loginCode(b.port, { clientId: 'c/1 x', username: 'admin', password: 'p"w' }), RC.OK);
    const last = srv.seen.at(-1)!;
    assert.equal(last.method, 'POST');
    assert.equal(last.url, '/authn/c%2F1%20x', 'path placeholders are URL-encoded');
    assert.equal(last.headers['content-type'], 'application/json');
    assert.equal(last.headers['x-node'], 'hermod');
    assert.deepEqual(JSON.parse(last.body), { username: 'admin', password: 'p"w', peer: '127.0.0.1' });
    assert.equal(await loginCode(b.port, { username: 'nocontent', password: 'x' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'form', password: 'x' }), RC.OK);
    assert.equal(await loginCode(b.port, { username: 'deny', password: 'x' }), RC.NOT_AUTHORIZED);
    assert.equal(
      await loginCode(b.port, { username: 'local', password: 'pw' }),
      RC.OK,
      'ignore → next authenticator',
    );
    assert.equal(
      await loginCode(b.port, { username: 'boom', password: 'x' }),
      RC.NOT_AUTHORIZED,
      '500 → ignore → nobody',
    );
  });

  it('sends GET with the body as query and no content-type', async () => {
    assert.equal(await loginCode(b.node.port('tcp:get'), { username: 'nocontent', password: 'x' }), RC.OK);
    const last = srv.seen.at(-1)!;
    assert.equal(last.method, 'GET');
    assert.equal(last.url, '/authn?username=nocontent');
    assert.equal(last.headers['content-type'], undefined);
  });

  it('ignores a server that answers too late, and the chain moves on', async () => {
    assert.equal(await loginCode(b.port, { username: 'slow', password: 'x' }), RC.NOT_AUTHORIZED);
    const m = (await b.node.authn.status('mqtt:global', 'password_based:http'))!.metrics;
    assert.ok(m.nomatch >= 2);
  });

  it('authorizes through the http source: 204 allow, 200 deny, other statuses no match (here deny)', async () => {
    const c = await connectClient(b.port, { username: 'nocontent', password: 'x', protocolVersion: 5 });
    assert.equal((await subscribe(c, 'allowed/t', { qos: 1 }))[0]?.qos, 1);
    await assert.rejects(subscribe(c, 'denied/t', { qos: 1 }), /Not authorized/);
    await assert.rejects(subscribe(c, 'unknown/t', { qos: 1 }), /Not authorized/);
    const asked = srv.seen.filter((s) => s.url === '/authz').map((s) => JSON.parse(s.body));
    assert.deepEqual(asked[0], {
      topic: 'allowed/t',
      action: 'subscribe',
      username: 'nocontent',
      qos: '1',
      access: '1',
    });
    await publish(c, 'allowed/p', 'x', { qos: 1 });
    assert.equal(srv.seen.at(-1)!.url, '/authz');
    assert.equal(JSON.parse(srv.seen.at(-1)!.body).access, '2');
    await end(c);
  });

  it('lets a superuser bypass the sources and an acl from the HTTP response apply first', async () => {
    const before = srv.seen.length;
    const admin = await connectClient(b.port, { username: 'admin', password: 'x', protocolVersion: 5 });
    assert.equal((await subscribe(admin, 'denied/t', { qos: 1 }))[0]?.qos, 1);
    assert.equal(srv.seen.filter((s, i) => i >= before && s.url === '/authz').length, 0);
    await end(admin);
    const acl = await connectClient(b.port, { username: 'acl', password: 'x', protocolVersion: 5 });
    assert.equal((await subscribe(acl, 'mine/x', { qos: 0 }))[0]?.qos, 0);
    await assert.rejects(
      subscribe(acl, 'allowed/t', { qos: 0 }),
      /Not authorized/,
      'client_info deny wins before the http source',
    );
    await end(acl);
  });
});
