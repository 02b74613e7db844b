/**
 * DTLS next to plain UDP on the CoAP gateway of one Hermod node, in one process:
 *   handshakes/s: new DTLS sessions (PSK-AES128-CCM8, cookie exchange included) with `--concurrency`
 *                 handshakes in flight, each from a fresh socket;
 *   publishes/s:  NON POST /ps/bench/dtls answered with a NON 2.04, a window of `--window` requests in flight,
 *                 over one DTLS session and over one plain UDP socket.
 *
 *   npm run build && node dist/bench/dtls.js [--seconds 3] [--concurrency 8] [--window 32]
 *
 * The load runs in the broker's process (the DTLS client is this project's own), so the figures are the
 * cost of both ends together: compare the rows, not with other benchmarks.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, Opt } from '../src/gateway/coap/message.js';
import { DtlsClient } from '../src/transport/dtls/client.js';
import { SUITES } from '../src/transport/dtls/suites.js';
import { startBenchNode } from './bench-node.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

const SECONDS = Number(arg('seconds', '3'));
const CONCURRENCY = Number(arg('concurrency', '8'));
const WINDOW = Number(arg('window', '32'));
const PSK = { identity: 'bench', key: Buffer.from('bench-secret') };
const CCM8 = SUITES.filter((s) => s.openssl === 'PSK-AES128-CCM8');

function publishRequest(id: number): Buffer {
  return encodeMessage({
    type: 'NON',
    code: '0.02',
    messageId: id & 0xffff,
    token: Buffer.of(id & 0xff, (id >> 8) & 0xff),
    options: ['ps', 'bench', 'dtls'].map((p) => ({ number: Opt.UriPath, value: Buffer.from(p) })),
    payload: Buffer.from('21.5'),
  });
}

async function handshakes(port: number): Promise<number> {
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const c = new DtlsClient({ host: '127.0.0.1', port, psk: PSK, suites: CCM8 });
      await c.connect();
      done++;
      c.close();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return done / SECONDS;
}

/** Closed-loop publishes through `send`, counting answers delivered to the returned callback. */
async function publishes(send: (d: Buffer) => void, onAnswer: (cb: () => void) => void): Promise<number> {
  let sent = 0;
  let answered = 0;
  // Requests counted as out of the window: answered ones, and ones given up on after a stall.
  let settled = 0;
  let stalled = Date.now();
  const end = Date.now() + SECONDS * 1000;
  const pump = (): void => {
    while (sent - settled < WINDOW && Date.now() < end) send(publishRequest(sent++));
  };
  onAnswer(() => {
    answered++;
    settled++;
    stalled = Date.now();
    pump();
  });
  pump();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    // A lost datagram would stall the window for good: reopen it after a quiet moment.
    if (Date.now() - stalled > 200) {
      settled = sent;
      stalled = Date.now();
      pump();
    }
  }
  return answered / SECONDS;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hermod-bench-dtls-'));
  const pskFile = join(dir, 'psk.txt');
  writeFileSync(pskFile, `${PSK.identity}:${PSK.key.toString()}\n`);
  const node = await startBenchNode({
    psk_authentication: { enable: true, init_file: pskFile },
    gateway: {
      coap: {
        listeners: {
          udp: { default: { bind: '127.0.0.1:0', max_conn_rate: 'infinity', max_connections: 'infinity' } },
          dtls: { default: { bind: '127.0.0.1:0', max_conn_rate: 'infinity', max_connections: 'infinity' } },
        },
      },
    },
  });
  const port = (id: string): number =>
    node.gateways.get('coap')!.listeners.get(id)!.transport!.address()!.port;
  try {
    const hs = await handshakes(port('coap:dtls:default'));

    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const udpPort = port('coap:udp:default');
    const plain = await publishes(
      (d) => udp.send(d, udpPort, '127.0.0.1'),
      (cb) => udp.on('message', cb),
    );
    udp.close();

    const c = new DtlsClient({ host: '127.0.0.1', port: port('coap:dtls:default'), psk: PSK, suites: CCM8 });
    await c.connect();
    const secure = await publishes(
      (d) => c.send(d),
      (cb) => {
        c.onData = cb;
      },
    );
    c.close();

    const row = (name: string, v: number): string =>
      `${name.padEnd(34)} ${Math.round(v).toString().padStart(8)}`;
    console.log(
      [
        `${SECONDS}s per phase, ${CONCURRENCY} handshakes in flight, window ${WINDOW}`,
        row('DTLS handshakes/s (PSK-AES128-CCM8)', hs),
        row('CoAP publishes/s over UDP', plain),
        row('CoAP publishes/s over DTLS', secure),
      ].join('\n'),
    );
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
