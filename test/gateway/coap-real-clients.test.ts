/**
 * The CoAP gateway with real clients: Debian's coap-client (libcoap) and the npm `coap` client on one
 * side, mqtt.js on the other; connection mode, block-wise transfers, listing and kicking through the API.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import coap from 'coap';
import { collect, connectClient, run } from '../helpers/clients.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { coapClientInBackground, startCoapBroker } from './coap-helpers.js';
import { until } from './helpers.js';

const CLIENT = 'coap-client-notls';

describe('coap: real clients', () => {
  let b: Awaited<ReturnType<typeof startCoapBroker>>;
  let base: string;
  let api: ApiClient;
  before(async () => {
    b = await startCoapBroker({ api: true });
    api = await adminClient(b);
    base = `coap://127.0.0.1:${b.coapPort}`;
  });
  after(() => b.stop());

  it('coap-client POST /ps/{topic} reaches an MQTT subscriber (qos and retain from the query)', async () => {
    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync('up/#', { qos: 1 });
    const r = await run(CLIENT, ['-m', 'post', '-e', '21.5', `${base}/ps/up/temp?qos=1&retain=true`]);
    assert.equal(r.code, 0, r.stderr);
    const [msg] = await box.next(1);
    assert.equal(msg!.topic, 'up/temp');
    assert.equal(msg!.payload.toString(), '21.5');
    assert.equal(msg!.packet.qos, 1);
    await m.endAsync();
  });

  it('the EMQX 3.x form route: coap-client -m post -e "qos=0&retain=0&message=payload&topic=hello" /mqtt', async () => {
    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync('hello');
    const r = await run(CLIENT, [
      '-m',
      'post',
      '-e',
      'qos=0&retain=0&message=payload&topic=hello',
      `${base}/mqtt`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [msg] = await box.next(1);
    assert.equal(msg!.topic, 'hello');
    assert.equal(msg!.payload.toString(), 'payload');
    await m.endAsync();
  });

  it('coap-client observes a wildcard topic (-s, -O 6,0x00) and receives MQTT messages', async () => {
    // coap-client prints when it exits (its stdout is a pipe): observe for 3 s, publish meanwhile.
    const obs = coapClientInBackground(['-m', 'get', '-s', '3', '-O', '6,0x00', `${base}/ps/down/%2B/cmd`]);
    try {
      // The observation exists once a CoAP client of the node holds the subscription.
      await until(() => subscribed(b, 'down/+/cmd'), 3000, 'observe registration');
      const m = await connectClient(b.port);
      await m.publishAsync('down/dev1/cmd', 'reboot');
      await m.publishAsync('down/dev2/cmd', 'blink');
      const out = await obs.done;
      assert.match(out.stdout, /reboot[\s\S]*blink/, out.stderr);
      await m.endAsync();
    } finally {
      obs.kill();
    }
  });

  it('block-wise both ways: a 3000-byte POST in 64-byte Block1 blocks, and a 3000-byte notification in Block2 blocks', async () => {
    const body = 'x'.repeat(2990) + '0123456789';
    const file = join(tmpdir(), `coap-block-${process.pid}.txt`);
    writeFileSync(file, body);
    const m = await connectClient(b.port);
    const box = collect(m);
    await m.subscribeAsync('big/up');
    const r = await run(CLIENT, ['-m', 'post', '-b', '64', '-f', file, `${base}/ps/big/up`]);
    assert.equal(r.code, 0, r.stderr);
    const [up] = await box.next(1);
    assert.equal(up!.payload.toString(), body);

    const obs = coapClientInBackground(['-m', 'get', '-s', '3', `${base}/ps/big/down`]);
    try {
      await until(() => subscribed(b, 'big/down'), 3000, 'observe registration');
      await m.publishAsync('big/down', body);
      const out = await obs.done;
      assert.ok(out.stdout.includes(body), `got ${out.stdout.length} chars: ${out.stderr}`);
    } finally {
      obs.kill();
    }
    await m.endAsync();
  });

  it('connection mode with coap-client: create, publish with the token, heartbeat, close', async () => {
    const q = 'clientid=dev-42&username=alice&password=secret';
    const created = await run(CLIENT, ['-m', 'post', `${base}/mqtt/connection?${q}`]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^\d+$/);
    // coap-client uses a fresh source port per run: a connection lives at one address, so the rest of the
    // exchange goes through one process-bound socket (the npm client below). Here: the client is listed.
    await until(async () => (await listClients(api)).some((c) => c.clientid === 'dev-42'), 3000, 'listed');
    const listed = (await listClients(api)).find((c) => c.clientid === 'dev-42')!;
    assert.equal(listed.username, 'alice');
    assert.equal(listed.keepalive, 15);
    const kick = await api.del('/gateways/coap/clients/dev-42');
    assert.equal(kick.status, 204);
    await until(async () => !(await listClients(api)).some((c) => c.clientid === 'dev-42'), 3000, 'kicked');
  });

  it('npm coap client: observe receives MQTT messages as notifications with rising Observe numbers', async () => {
    const agent = new coap.Agent({ type: 'udp4' });
    const req = coap.request({
      hostname: '127.0.0.1',
      port: b.coapPort,
      pathname: '/ps/npm/obs',
      observe: true,
      agent,
    });
    const got: Array<{ payload: string; observe: unknown }> = [];
    const res = await new Promise<coap.IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.code, '2.05');
    res.on('data', (d: Buffer) => {
      // The registration answer (2.05, empty) comes first on the stream; notifications carry payloads.
      if (d.length > 0) got.push({ payload: d.toString(), observe: res.headers.Observe });
    });
    await until(() => subscribed(b, 'npm/obs'), 3000, 'observe registration');
    const m = await connectClient(b.port);
    for (const p of ['a', 'b', 'c']) await m.publishAsync('npm/obs', p, { qos: 1 });
    await until(() => got.length >= 3, 5000, 'three notifications');
    assert.deepEqual(
      got.map((g) => g.payload),
      ['a', 'b', 'c'],
    );
    const seqs = got.map((g) => Number(g.observe));
    assert.ok(
      seqs[0]! > 0 && seqs[1]! > seqs[0]! && seqs[2]! > seqs[1]!,
      `observe numbers ${seqs.join(',')}`,
    );
    // Closing deregisters (and closes the agent's socket).
    (res as unknown as { close(): void }).close();
    await m.endAsync();
  });
});

/** True when some CoAP client of the node holds a subscription to `filter`. */
function subscribed(b: Awaited<ReturnType<typeof startCoapBroker>>, filter: string): boolean {
  for (const r of b.node.broker.registry.records('coap'))
    if (r.session.subscriptions.has(filter)) return true;
  return false;
}

async function listClients(
  api: ApiClient,
): Promise<Array<{ clientid: string; username?: string; keepalive: number }>> {
  const r = await api.get('/gateways/coap/clients');
  return (r.body as { data: Array<{ clientid: string; username?: string; keepalive: number }> }).data;
}
