/**
 * What reaches the log from clients: control characters in client-supplied fields are escaped (text and
 * json formatters), repeated warnings are throttled per message kind with a count of what was suppressed
 * (log.throttling.time_window), and a slow consumer dropped for send_timeout leaves one line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { loadConfig } from '../../src/config/load.js';
import { closeLogging, configureLogging, type LogConfig } from '../../src/log-setup.js';
import { startBroker } from '../helpers/broker.js';
import { connectClient, end, sleep } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

const dir = mkdtempSync(join(tmpdir(), 'hermod-logguard-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function logConfig(raw: Record<string, unknown>): LogConfig {
  const r = loadConfig({ env: { HERMOD_LOG: JSON.stringify(raw) }, dataDir: dir });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.log;
}

/** Logs warnings to a text and a json file; returns their paths. */
function logToFiles(name: string, window = '1m'): { text: string; json: string } {
  const text = join(dir, `${name}.log`);
  const json = join(dir, `${name}.json.log`);
  configureLogging(
    logConfig({
      console: { enable: false },
      throttling: { time_window: window },
      file: { t: { path: text, formatter: 'text' }, j: { path: json, formatter: 'json' } },
    }),
  );
  return { text, json };
}

const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/** Any control character except the newline that ends each line. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for exactly these.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

async function secondConnect(port: number, clientId: string, username?: string): Promise<void> {
  const { client } = await RawClient.connect(port, { clientId, username }, 4);
  client.send({
    cmd: 'connect',
    clientId,
    protocolVersion: 4,
    protocolId: 'MQTT',
    clean: true,
    keepalive: 0,
  });
  await client.waitClosed();
}

describe('log guard', () => {
  it('control characters in a client id and username are escaped in text and json lines', async () => {
    const files = logToFiles('escape');
    const b = await startBroker();
    try {
      await secondConnect(b.port, 'only\b\b\b\bfake', 'u\u001b[2J\r\nforged\u007f\u009b');
    } finally {
      await b.stop();
      closeLogging(logConfig({ console: { enable: false } }));
    }
    const text = read(files.text);
    assert.match(text, /second CONNECT/);
    assert.ok(text.includes('only\\x08\\x08\\x08\\x08fake'), text);
    assert.equal(RAW_CONTROL.test(text), false, 'no raw control character in the text log');
    const json = read(files.json);
    assert.equal(RAW_CONTROL.test(json), false, 'no raw control character in the json log');
    const line = json
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => String(l.msg).includes('second CONNECT'));
    assert.equal(line?.clientid, 'only\\x08\\x08\\x08\\x08fake');
  });

  it('repeated warnings of one kind: one line per window, then one line with the suppressed count', async () => {
    const files = logToFiles('throttle', '2s');
    const b = await startBroker();
    try {
      for (let i = 0; i < 20; i++) await secondConnect(b.port, `dup-${i}`);
      const kind = (t: string) => t.split('\n').filter((l) => l.includes('second CONNECT'));
      assert.equal(kind(read(files.text)).length, 1, 'one line in the window');
      await waitFor(() => kind(read(files.text)).length === 2, 10_000);
      const summary = kind(read(files.text))[1]!;
      assert.match(summary, /suppressed=19/);
    } finally {
      await b.stop();
      closeLogging(logConfig({ console: { enable: false } }));
    }
  });

  it('a slow consumer dropped for send_timeout leaves exactly one log line', async () => {
    const files = logToFiles('slow');
    const b = await startBroker({
      config: {
        listeners: {
          tcp: { default: { tcp_options: { send_timeout: '300ms', high_watermark: '64KB' } } },
        },
      },
    });
    const sock = netConnect(b.port, '127.0.0.1');
    try {
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(
        mqttPacket.generate({
          cmd: 'connect',
          clientId: 'slowpoke',
          protocolVersion: 4,
          protocolId: 'MQTT',
          clean: true,
          keepalive: 0,
        }),
      );
      sock.write(
        mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] }),
      );
      await sleep(200);
      sock.pause();
      const pub = await connectClient(b.port);
      const big = Buffer.alloc(256 * 1024, 7);
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      let gone = false;
      void closed.then(() => {
        gone = true;
      });
      for (let i = 0; i < 400 && !gone; i++) {
        pub.publish('flood', big, { qos: 0 });
        await sleep(10);
      }
      await waitFor(() => read(files.text).includes('slow consumer'), 10_000);
      await sleep(300);
      const lines = read(files.text)
        .split('\n')
        .filter((l) => l.includes('slowpoke'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /slow consumer/);
      await end(pub);
    } finally {
      sock.destroy();
      await b.stop();
      closeLogging(logConfig({ console: { enable: false } }));
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(50);
  }
}
