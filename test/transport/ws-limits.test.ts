/**
 * WebSocket messages are bounded before they are buffered: by mqtt.max_packet_size and by the listener's
 * websocket.max_frame_size, whichever is smaller. An oversize message (even before CONNECT) gets close code
 * 1009 and one clear log line; normal MQTT over WebSocket is unaffected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { closeLogging, configureLogging } from '../../src/log-setup.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';

const dir = mkdtempSync(join(tmpdir(), 'hermod-wslimits-'));
const logFile = join(dir, 'ws.log');

function logConfig(raw: Record<string, unknown>) {
  const r = loadConfig({ env: { HERMOD_LOG: JSON.stringify(raw) }, dataDir: dir });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.log;
}

/** Opens a WebSocket with the mqtt subprotocol, sends one binary message, resolves with the close code. */
function sendAndClose(port: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
    ws.on('open', () => ws.send(Buffer.alloc(size, 0x30)));
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => undefined);
    setTimeout(() => reject(new Error('not closed')), 10_000).unref();
  });
}

describe('websocket message limits', () => {
  let b: TestBroker;
  let small: TestBroker;
  before(async () => {
    configureLogging(
      logConfig({
        console: { enable: false },
        throttling: { time_window: '0s' },
        file: { w: { path: logFile } },
      }),
    );
    b = await startBroker({ ws: true, config: { mqtt: { max_packet_size: '64KB' } } });
    small = await startBroker({
      ws: true,
      config: { listeners: { ws: { default: { websocket: { max_frame_size: 1000 } } } } },
    });
  });
  after(async () => {
    await b.stop();
    await small.stop();
    closeLogging(logConfig({ console: { enable: false } }));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a message above mqtt.max_packet_size before CONNECT ⇒ close 1009 and a log line', async () => {
    assert.equal(await sendAndClose(b.wsPort!, 2 * 1024 * 1024), 1009);
    assert.match(readFileSync(logFile, 'utf8'), /message larger than max_frame_size.*1009/);
  });

  it("a message above the listener's websocket.max_frame_size ⇒ close 1009", async () => {
    assert.equal(await sendAndClose(small.wsPort!, 2000), 1009);
  });

  it('MQTT over WebSocket within the limits works', async () => {
    const c = await connectClient(b.wsPort!, { protocol: 'ws', path: '/mqtt' });
    const got = collect(c);
    await subscribe(c, 'ws/t', { qos: 1 });
    await publish(c, 'ws/t', Buffer.alloc(30_000, 1), { qos: 1 });
    const [m] = await got.next(1);
    assert.equal(m!.payload.length, 30_000);
    await end(c);
  });
});
