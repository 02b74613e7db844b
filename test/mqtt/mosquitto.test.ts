import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import {
  collect,
  connectClient,
  end,
  publish,
  run,
  sleep,
  startProcess,
  subscribe,
} from '../helpers/clients.js';

describe('interop with mosquitto_pub / mosquitto_sub', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(() => b.stop());

  for (const v of ['mqttv311', 'mqttv5', 'mqttv31'] as const) {
    it(`mosquitto_sub receives what mosquitto_pub publishes (${v})`, async () => {
      const port = String(b.port);
      const sub = startProcess('mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        port,
        '-V',
        v,
        '-t',
        `mq/${v}/#`,
        '-q',
        '1',
        '-v',
        '-i',
        `sub-${v}`,
      ]);
      try {
        await sleep(300);
        for (const qos of ['0', '1', '2']) {
          const r = await run('mosquitto_pub', [
            '-h',
            '127.0.0.1',
            '-p',
            port,
            '-V',
            v,
            '-t',
            `mq/${v}/${qos}`,
            '-m',
            `hello-${qos}`,
            '-q',
            qos,
          ]);
          assert.equal(r.code, 0, r.stderr);
        }
        const lines = await sub.waitLines(3);
        assert.deepEqual(lines, [`mq/${v}/0 hello-0`, `mq/${v}/1 hello-1`, `mq/${v}/2 hello-2`]);
      } finally {
        sub.kill();
      }
    });
  }

  it('mqtt.js and mosquitto clients talk both ways, with MQTT 5 properties', async () => {
    const port = String(b.port);
    const js = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(js);
    await subscribe(js, 'x/from-mosquitto', { qos: 1 });
    const r = await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-V',
      'mqttv5',
      '-t',
      'x/from-mosquitto',
      '-m',
      'hi',
      '-q',
      '1',
      '-D',
      'publish',
      'user-property',
      'k',
      'v',
      '-D',
      'publish',
      'content-type',
      'text/plain',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [m] = await g.next(1);
    assert.equal(m!.payload.toString(), 'hi');
    assert.deepEqual({ ...m!.packet.properties?.userProperties }, { k: 'v' });
    assert.equal(m!.packet.properties?.contentType, 'text/plain');

    const sub = startProcess('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-V',
      'mqttv5',
      '-t',
      'x/from-js',
      '-C',
      '1',
      '-F',
      '%t %p %P',
    ]);
    await sleep(300);
    await publish(js, 'x/from-js', 'yo', { qos: 1, properties: { userProperties: { a: 'b' } } });
    const [line] = await sub.waitLines(1);
    assert.match(line!, /^x\/from-js yo/);
    assert.match(line!, /a:b/);
    await end(js);
  });

  it('mosquitto_sub gets a retained message with -R filtering and a persistent session', async () => {
    const port = String(b.port);
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'keep/t',
      '-m',
      'retained!',
      '-r',
      '-q',
      '1',
    ]);
    const r = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'keep/t',
      '-C',
      '1',
      '-W',
      '3',
    ]);
    assert.equal(r.stdout.trim(), 'retained!');
    // A persistent session (-c) queues while the subscriber is away.
    await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'away/t',
      '-q',
      '1',
      '-c',
      '-i',
      'mosq-persist',
      '-W',
      '1',
    ]);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', 'away/t', '-m', 'queued', '-q', '1']);
    const back = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'away/t',
      '-q',
      '1',
      '-c',
      '-i',
      'mosq-persist',
      '-C',
      '1',
      '-W',
      '3',
    ]);
    assert.equal(back.stdout.trim(), 'queued');
  });
});
