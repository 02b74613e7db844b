/** Helpers around mqtt.js and Debian's mosquitto clients for tests. */
import { spawn } from 'node:child_process';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** Connects mqtt.js and resolves once CONNACK arrived (rejects on error or refusal). */
export function connectClient(port: number, opts: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      host: '127.0.0.1',
      port,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: `js-${Math.random().toString(16).slice(2, 10)}`,
      ...opts,
    });
    // Messages can arrive in the same read as CONNACK (a resumed session): buffer them from the start.
    const buffered: Received[] = [];
    early.set(client, buffered);
    client.on('message', (topic, payload, packet) => buffered.push({ topic, payload, packet }));
    const fail = (err: Error) => {
      client.removeAllListeners('connect');
      client.end(true);
      reject(err);
    };
    client.once('connect', () => {
      client.removeListener('close', onClose);
      resolve(client);
    });
    client.once('error', fail);
    // A server that drops the connection (e.g. after refusing a TLS client) sends no CONNACK and no error.
    const onClose = () => fail(new Error('connection closed before CONNACK'));
    client.once('close', onClose);
  });
}

export interface Received {
  topic: string;
  payload: Buffer;
  packet: mqtt.IPublishPacket;
}

const early = new WeakMap<MqttClient, Received[]>();

/**
 * Collects messages on a client (including any that arrived with CONNACK); `next(n)` resolves with the
 * first n (waiting as needed).
 */
export function collect(client: MqttClient) {
  const messages: Received[] = [...(early.get(client) ?? [])];
  early.delete(client);
  let waiters: Array<{ n: number; resolve: (m: Received[]) => void }> = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, packet });
    waiters = waiters.filter((w) => {
      if (messages.length >= w.n) {
        w.resolve(messages.slice(0, w.n));
        return false;
      }
      return true;
    });
  });
  return {
    messages,
    next(n = 1, timeoutMs = 3000): Promise<Received[]> {
      if (messages.length >= n) return Promise.resolve(messages.slice(0, n));
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `expected ${n} messages, got ${messages.length}: ${messages.map((m) => m.topic).join(',')}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
      });
    },
  };
}

export function subscribe(
  client: MqttClient,
  topic: string | string[],
  opts: mqtt.IClientSubscribeOptions = { qos: 0 },
) {
  return new Promise<mqtt.ISubscriptionGrant[]>((resolve, reject) => {
    client.subscribe(topic, opts, (err, granted) => (err ? reject(err) : resolve(granted ?? [])));
  });
}

export function publish(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  opts: mqtt.IClientPublishOptions = {},
) {
  return new Promise<mqtt.Packet | undefined>((resolve, reject) => {
    client.publish(topic, payload, opts, (err, packet) => (err ? reject(err) : resolve(packet)));
  });
}

export function end(client: MqttClient, force = false): Promise<void> {
  return new Promise((resolve) => client.end(force, {}, () => resolve()));
}

/** Milliseconds of quiet: assert that nothing arrives without relying on speed. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ProcResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (mosquitto_pub), with a timeout. */
export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running command (mosquitto_sub); read its stdout lines as they come. */
export function startProcess(cmd: string, args: string[]) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  p.stdout.on('data', (d) => {
    buf += d;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
  return {
    proc: p,
    lines,
    stderr: () => stderr,
    exited,
    async waitLines(n: number, timeoutMs = 5000): Promise<string[]> {
      const start = Date.now();
      while (lines.length < n) {
        if (Date.now() - start > timeoutMs)
          throw new Error(`expected ${n} lines, got ${lines.length}: ${lines.join('|')} ${stderr}`);
        await sleep(20);
      }
      return lines.slice(0, n);
    },
    kill() {
      p.kill('SIGTERM');
    },
  };
}
