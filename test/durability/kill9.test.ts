/**
 * A real crash: the broker runs as its own process (`hermod start`), QoS 1 and QoS 2 load runs against it
 * (a persistent subscriber offline with a growing queue, one online with messages in flight, QoS 2
 * publishes awaiting PUBREL, retained messages), and it is killed with SIGKILL at random moments and
 * restarted on the same data dir. Under the default durability every acknowledged message must be there
 * afterwards; only QoS 1 may arrive twice.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { sleep } from '../helpers/clients.js';
import { freePort } from '../helpers/servers/common.js';

const BIN = fileURLToPath(new URL('../../../bin/hermod.js', import.meta.url));
const KILLS = 3;

/** Starts `hermod start` and resolves once its MQTT port answers. */
async function startNode(configFile: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_TEST_CONTEXT: '' },
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  for (let i = 0; i < 150; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 1000 });
      c.once('connect', () => {
        c.end(true);
        resolve(true);
      });
      c.once('error', () => {
        c.end(true);
        resolve(false);
      });
      c.once('close', () => resolve(false));
    });
    if (ok) return child;
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`broker did not start: ${stderr}`);
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A persistent MQTT 5 client that reconnects by itself after every crash. */
function persistent(port: number, clientId: string): MqttClient {
  return mqtt.connect({
    host: '127.0.0.1',
    port,
    clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 150,
    connectTimeout: 2000,
  });
}

function connected(c: MqttClient): Promise<void> {
  return c.connected ? Promise.resolve() : new Promise((r) => c.once('connect', () => r()));
}

/** Payloads received per client, counted, plus the QoS each came with. */
function tally(c: MqttClient): Map<string, number> {
  const seen = new Map<string, number>();
  c.on('message', (_t, payload) => {
    const k = payload.toString();
    seen.set(k, (seen.get(k) ?? 0) + 1);
  });
  return seen;
}

describe('kill -9 under QoS 1/2 load (durability sync, the default)', () => {
  it('loses nothing that was acknowledged and duplicates only QoS 1', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermod-kill9-'));
    const port = await freePort();
    const configFile = join(dir, 'hermod.conf');
    writeFileSync(
      configFile,
      [
        `node { data_dir = "${join(dir, 'data')}" }`,
        `listeners.tcp.default { bind = "127.0.0.1:${port}" }`,
        'listeners.ws.default { enable = false }',
        'dashboard.listeners.http { enable = false }',
        'mqtt { max_mqueue_len = infinity, max_inflight = 16 }',
        'log.console { level = warning }',
      ].join('\n'),
    );
    let child = await startNode(configFile, port);
    const clients: MqttClient[] = [];
    try {
      // The offline subscriber: subscribes once, then stays away while its queue grows across crashes.
      const offline = persistent(port, 'k9-offline');
      await connected(offline);
      await offline.subscribeAsync('load/#', { qos: 2 });
      await offline.endAsync();

      const online = persistent(port, 'k9-online');
      clients.push(online);
      const onlineSeen = tally(online);
      await connected(online);
      await online.subscribeAsync('load/#', { qos: 2 });

      // One persistent publisher: an unfinished QoS 2 exchange (PUBREC received, PUBCOMP not) is completed
      // by mqtt.js after the restart, as a real client would.
      const pub = persistent(port, 'k9-pub');
      clients.push(pub);
      await connected(pub);
      const acked = new Map<string, 1 | 2>();
      const ackedRetained = new Set<string>();
      let seq = 0;
      let outstanding = 0;
      let stop = false;
      const pump = async (): Promise<void> => {
        while (!stop) {
          if (outstanding >= 24) {
            await sleep(2);
            continue;
          }
          const n = seq++;
          const qos: 1 | 2 = n % 2 === 0 ? 1 : 2;
          const retained = n % 5 === 0;
          const topic = retained ? `ret/${n}` : `load/${qos}/${n}`;
          const payload = `${retained ? 'r' : 'm'}${qos}-${n}`;
          outstanding++;
          pub.publish(topic, payload, { qos, retain: retained }, (err) => {
            outstanding--;
            if (err !== undefined && err !== null) return;
            if (retained) ackedRetained.add(topic);
            else acked.set(payload, qos);
          });
          if (n % 8 === 0) await sleep(1);
        }
      };
      const loading = pump();
      for (let k = 0; k < KILLS; k++) {
        await sleep(400 + Math.floor(Math.random() * 900));
        await kill9(child);
        await sleep(100);
        child = await startNode(configFile, port);
        await connected(pub);
      }
      await sleep(300);
      stop = true;
      await loading;
      // Every publish in flight at the end completes (mqtt.js resends after the last restart).
      for (let i = 0; i < 100 && outstanding > 0; i++) await sleep(100);
      assert.equal(outstanding, 0, 'publishes still unanswered');
      assert.ok(acked.size > 50, `too little load to mean anything: ${acked.size}`);

      const back = persistent(port, 'k9-offline');
      clients.push(back);
      const offlineSeen = tally(back);
      await connected(back);
      const everyone = [...acked.keys()];
      for (let i = 0; i < 150; i++) {
        if (everyone.every((p) => offlineSeen.has(p) && onlineSeen.has(p))) break;
        await sleep(100);
      }
      for (const [who, seen] of [
        ['offline subscriber', offlineSeen],
        ['online subscriber', onlineSeen],
      ] as const) {
        const lost = everyone.filter((p) => !seen.has(p));
        assert.deepEqual(lost.slice(0, 10), [], `${who} lost ${lost.length} of ${everyone.length}`);
        const twice = [...seen].filter(([p, n]) => n > 1 && acked.get(p) === 2).map(([p]) => p);
        assert.deepEqual(twice, [], `${who} got QoS 2 messages twice`);
      }

      const reader = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0 });
      clients.push(reader);
      const topics = new Set<string>();
      reader.on('message', (t) => topics.add(t));
      await connected(reader);
      await reader.subscribeAsync('ret/#', { qos: 1 });
      for (let i = 0; i < 50 && ![...ackedRetained].every((t) => topics.has(t)); i++) await sleep(100);
      const lostRetained = [...ackedRetained].filter((t) => !topics.has(t));
      assert.deepEqual(lostRetained, [], 'acknowledged retained messages lost');
    } finally {
      for (const c of clients) c.end(true);
      await kill9(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
