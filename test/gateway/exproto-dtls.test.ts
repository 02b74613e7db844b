/**
 * ExProto on a dtls listener: a line client inside a DTLS session (PSK) logs in through the test handler,
 * publishes and receives; the handler is told the socket type DTLS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient } from '../helpers/clients.js';
import { adminClient } from '../mgmt/http.js';
import { type DtlsFixtures, makeDtlsFixtures } from '../transport/dtls/fixtures.js';
import { type EchoHandler, startEchoHandler } from './exproto-echo.js';
import { DtlsLines } from './exproto-lines.js';
import { ADAPTER_SERVER, gatewayPort } from './helpers.js';

describe('exproto over dtls', () => {
  let fx: DtlsFixtures;
  let h: EchoHandler;
  let b: TestBroker;
  before(async () => {
    fx = makeDtlsFixtures();
    let adapterPort = 0;
    h = await startEchoHandler(() => adapterPort);
    b = await startBroker({
      api: true,
      config: {
        psk_authentication: { enable: true, init_file: fx.pskFile },
        gateway: {
          exproto: {
            server: { bind: '127.0.0.1:0', grpc_server: ADAPTER_SERVER },
            handler: { address: `http://127.0.0.1:${h.port}` },
            listeners: { dtls: { default: { bind: '127.0.0.1:0' } } },
          },
        },
      },
    });
    adapterPort = (await (await adminClient(b)).get('/gateways/exproto/handler')).body.adapter.port;
  });
  after(async () => {
    await b.stop();
    await h.stop();
    fx.remove();
  });

  it('login, publish and a delivery over DTLS; the handler sees socktype DTLS', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('up');
    const d = await DtlsLines.connect(gatewayPort(b.node, 'exproto:dtls:default'), {
      psk: { identity: 'device1', key: Buffer.from('secret') },
    });
    d.send('CONNECT dtls1');
    assert.equal(await d.next('CONNACK'), 'CONNACK SUCCESS');
    d.send('SUB dn');
    assert.equal(await d.next('SUBACK'), 'SUBACK SUCCESS');
    d.send('PUB up over dtls');
    assert.equal(await d.next('PUBACK'), 'PUBACK SUCCESS');
    assert.equal((await got.next(1))[0]!.payload.toString(), 'over dtls');
    await m.publishAsync('dn', 'to dtls');
    assert.equal(await d.next('MSG'), 'MSG dn to dtls');
    const created = h.events.filter((e) => e.rpc === 'OnSocketCreated').at(-1)!;
    assert.equal((created.request.conninfo as { socktype: string }).socktype, 'DTLS');
    d.end();
    await m.endAsync();
  });
});
