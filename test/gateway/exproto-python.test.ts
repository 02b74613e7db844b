/**
 * A handler that is not Node: Python with Debian's python3-grpcio, its stubs generated from
 * proto/exproto.proto by python3-grpc-tools at test time, serving a device on raw TCP end to end.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, startProcess } from '../helpers/clients.js';
import { freePort } from '../helpers/servers/common.js';
import { adminClient } from '../mgmt/http.js';
import { TcpLines } from './exproto-lines.js';
import { generateStubs, HAS_GRPC, PYTHON, pyScript } from './exproto-py-stubs.js';
import { ADAPTER_SERVER, gatewayPort } from './helpers.js';

describe('exproto: a Python handler (python3-grpcio)', {
  skip: !HAS_GRPC && 'python3-grpcio missing',
}, () => {
  let b: TestBroker;
  let py: ReturnType<typeof startProcess>;
  let tcpPort: number;
  let stubs: string;
  before(async () => {
    stubs = generateStubs();
    const handlerPort = await freePort();
    b = await startBroker({
      config: {
        gateway: {
          exproto: {
            mountpoint: 'py/',
            server: { bind: '127.0.0.1:0', grpc_server: ADAPTER_SERVER },
            handler: { address: `http://127.0.0.1:${handlerPort}` },
            listeners: { tcp: { default: { bind: '127.0.0.1:0' } } },
          },
        },
      },
      api: true,
    });
    tcpPort = gatewayPort(b.node, 'exproto:tcp:default');
    const adapterPort = (await (await adminClient(b)).get('/gateways/exproto/handler')).body.adapter.port;
    const script = pyScript('echo_handler.py');
    py = startProcess(PYTHON, [script, stubs, String(adapterPort), String(handlerPort)]);
    const [ready] = await py.waitLines(1, 10_000);
    assert.equal(ready, `READY ${handlerPort}`);
  });
  after(async () => {
    py?.kill();
    await b?.stop();
    if (stubs !== undefined) rmSync(stubs, { recursive: true, force: true });
  });

  it('echoes, authenticates, publishes to MQTT and delivers from MQTT', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('py/up');
    const c = await TcpLines.open(tcpPort);
    c.send('Hi, this is tcp client!');
    assert.equal(await c.next('Hi'), 'Hi, this is tcp client!');
    c.send('CONNECT py-dev');
    assert.equal(await c.next('CONNACK'), 'CONNACK SUCCESS');
    c.send('PUB up from python');
    assert.equal(await c.next('PUBACK'), 'PUBACK SUCCESS');
    const [msg] = await got.next(1);
    assert.equal(msg!.topic, 'py/up');
    assert.equal(msg!.payload.toString(), 'from python');
    c.send('SUB down');
    assert.equal(await c.next('SUBACK'), 'SUBACK SUCCESS');
    await m.publishAsync('py/down', 'to python device', { qos: 1 });
    assert.equal(await c.next('MSG'), 'MSG down to python device');
    c.end();
    await m.endAsync();
  });
});
