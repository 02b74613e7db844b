/** Real STOMP clients against the gateway: @stomp/stompjs (over a TCP wrapper) and Debian's stomp.py. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { collect, connectClient } from '../helpers/clients.js';
import { startStompBroker, until } from './helpers.js';
import { inbox, stompjs } from './stompjs.js';

const PYTHON = '/usr/bin/python3';
const HAS_STOMP_PY = existsSync('/usr/lib/python3/dist-packages/stomp/__init__.py');

/** stomp.py: subscribe to argv[2], print READY, wait for one message, send it back upper-cased to argv[3]. */
const PY_ECHO = `
import json, sys, threading, stomp
port, topic_in, topic_out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
got = threading.Event()
class L(stomp.ConnectionListener):
    def on_message(self, frame):
        print(json.dumps({"headers": frame.headers, "body": frame.body}), flush=True)
        conn.send(destination=topic_out, body=frame.body.upper(), headers={"x-from": "python"})
        got.set()
    def on_error(self, frame):
        print(json.dumps({"error": frame.body}), flush=True)
conn = stomp.Connection12([("127.0.0.1", port)], heartbeats=(0, 0))
conn.set_listener("", L())
conn.connect("py-user", "secret", wait=True, headers={"client-id": "py-client"})
conn.subscribe(destination=topic_in, id="py-sub", ack="auto", headers={"receipt": "sub-ok"})
print("READY", flush=True)
got.wait(10)
conn.disconnect(receipt="bye")
`;

describe('stomp: real clients', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  before(async () => {
    b = await startStompBroker();
  });
  after(() => b.stop());

  it('@stomp/stompjs: subscribe, publish, receipts and headers, both ways with MQTT', async () => {
    const client = await stompjs(b.stompPort, {
      connectHeaders: { login: 'js-user', passcode: 'pw', 'client-id': 'js-1' },
    });
    const box = inbox();
    let receipted = false;
    client.watchForReceipt('sub-1', () => {
      receipted = true;
    });
    client.subscribe('js/in/#', box.on, { id: 'sub-js', receipt: 'sub-1' });
    await until(() => receipted, 5000, 'subscribe receipt');

    const m = await connectClient(b.port, { protocolVersion: 5 });
    const fromStomp = collect(m);
    await m.subscribeAsync('js/out');
    await m.publishAsync('js/in/a', '{"v":1}', { properties: { contentType: 'application/json' } });
    const [msg] = await box.wait(1);
    assert.equal(msg!.body, '{"v":1}');
    assert.equal(msg!.headers.destination, 'js/in/a');
    assert.equal(msg!.headers['content-type'], 'application/json');
    assert.equal(msg!.headers.subscription, 'sub-js');

    client.publish({ destination: 'js/out', body: 'hi mqtt', headers: { 'x-app': 'stompjs' } });
    const [r] = await fromStomp.next(1);
    assert.equal(r!.payload.toString(), 'hi mqtt');
    assert.equal({ ...r!.packet.properties?.userProperties }['x-app'], 'stompjs');

    // stompjs <-> stompjs through the broker, binary body.
    const other = await stompjs(b.stompPort);
    const box2 = inbox();
    other.subscribe('js/bin', box2.on, { id: 'b' });
    await until(() => b.node.broker.router.topicCount > 0);
    await new Promise((r) => setTimeout(r, 100));
    client.publish({ destination: 'js/bin', binaryBody: new Uint8Array([0, 1, 2, 0]) });
    const [bin] = await box2.wait(1);
    assert.deepEqual([...bin!.binaryBody], [0, 1, 2, 0]);

    await client.deactivate();
    await other.deactivate();
    await m.endAsync();
    await until(() => b.node.gateways.get('stomp')!.clients.records().length === 0, 5000, 'clients gone');
  });

  it('@stomp/stompjs: server heart-beats keep a heart-beating client alive', async () => {
    const client = await stompjs(b.stompPort, { heartbeatIncoming: 200, heartbeatOutgoing: 200 });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(client.connected, true);
    await client.deactivate();
  });

  it('stomp.py (Debian python3-stomp): receives from MQTT and sends back', {
    skip: !HAS_STOMP_PY,
  }, async () => {
    const m = await connectClient(b.port);
    const back = collect(m);
    await m.subscribeAsync('py/out');
    const py = spawn(PYTHON, ['-c', PY_ECHO, String(b.stompPort), 'py/in', 'py/out'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    py.stdout.on('data', (d) => (out += d));
    py.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => py.on('close', r));
    try {
      await until(() => out.includes('READY'), 10_000, `stomp.py READY (stderr: ${err})`);
      const client = b.node.gateways.get('stomp')!.clients.get('py-client');
      assert.ok(client !== undefined, 'client-id header names the client');
      assert.equal(client.channel?.clientInfo.username, 'py-user');
      await m.publishAsync('py/in', 'hello python');
      const [r] = await back.next(1, 10_000);
      assert.equal(r!.payload.toString(), 'HELLO PYTHON');
      assert.equal(await exited, 0);
      const line = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!);
      assert.equal(line.body, 'hello python');
      assert.equal(line.headers.subscription, 'py-sub');
    } finally {
      py.kill();
      await m.endAsync();
    }
  });
});
