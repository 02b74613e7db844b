/**
 * The cluster bus: this node's two NATS connections and the JetStream handles every cluster part shares.
 *
 * - `data` (no echo) carries MQTT traffic: a node never receives its own publishes, so a message is
 *   delivered locally once, in-process, and only other nodes get the bus copy.
 * - `control` (echo on) carries node-to-node requests (`rpc`) and JetStream, apart from the MQTT traffic so
 *   a burst of messages does not delay a takeover or a KV write behind it.
 *
 * Every subject and bucket is scoped by `cluster.name`, so two clusters can share NATS servers.
 */
import { readFileSync } from 'node:fs';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm, type KvOptions } from '@nats-io/kv';
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import type { ClusterConfig } from '../config/schema/index.js';
import { logger } from '../log.js';
import { encodeLevel, type SubjectRoots, subjectRoots } from './subject.js';

/** A failed node-to-node request: no such node (or it is down), a timeout, or the handler's own error. */
export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: 'no_node' | 'timeout' | 'remote',
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Handles one rpc method: gets the JSON body and the calling node, returns a JSON-able answer. */
export type RpcHandler = (body: unknown, from: string) => unknown | Promise<unknown>;

/** Bus connection state, for parts that must re-assert their state after NATS came back. */
export type BusEvent = 'disconnected' | 'reconnected';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON body of a bus message (an empty body is `undefined`). */
export function jsonOf(data: Uint8Array): unknown {
  return data.length === 0 ? undefined : JSON.parse(decoder.decode(data));
}

export function jsonBytes(value: unknown): Uint8Array {
  return value === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(value));
}

/** A bucket or stream name may hold only [A-Za-z0-9_-]. */
function nameToken(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

export class ClusterBus {
  /** `hm.<cluster>`: the root of every subject of this cluster. */
  readonly prefix: string;
  /** Subject roots of MQTT traffic (see subject.ts). */
  readonly roots: SubjectRoots;
  private dataConn: NatsConnection | undefined;
  private controlConn: NatsConnection | undefined;
  private jsClient: JetStreamClient | undefined;
  private jsManager: JetStreamManager | undefined;
  private kvm: Kvm | undefined;
  private readonly buckets = new Map<string, Promise<KV>>();
  private readonly rpcHandlers = new Map<string, RpcHandler>();
  private rpcSub: Subscription | undefined;
  private readonly listeners = new Set<(e: BusEvent) => void>();

  constructor(
    /** This node's name (`node.name`). */
    readonly node: string,
    readonly config: ClusterConfig,
  ) {
    this.prefix = `hm.${encodeLevel(config.name)}`;
    this.roots = subjectRoots(this.prefix);
  }

  /** MQTT traffic (no echo). */
  get data(): NatsConnection {
    if (this.dataConn === undefined) throw new Error('cluster bus is not connected');
    return this.dataConn;
  }

  /** Queue members, rpc and JetStream (echo on). */
  get control(): NatsConnection {
    if (this.controlConn === undefined) throw new Error('cluster bus is not connected');
    return this.controlConn;
  }

  get js(): JetStreamClient {
    if (this.jsClient === undefined) throw new Error('cluster bus is not connected');
    return this.jsClient;
  }

  get jsm(): JetStreamManager {
    if (this.jsManager === undefined) throw new Error('cluster bus is not connected');
    return this.jsManager;
  }

  /** Connects both connections and checks that the servers run JetStream. */
  async start(): Promise<void> {
    const nats = this.config.nats;
    this.dataConn = await connect(this.connectionOptions('data', true));
    this.controlConn = await connect(this.connectionOptions('control', false));
    try {
      this.jsManager = await jetstreamManager(this.controlConn, { timeout: nats.request_timeout });
    } catch (err) {
      throw new Error(
        `cluster: the NATS servers ${nats.servers.join(', ')} have no JetStream (start nats-server with -js): ${(err as Error).message}`,
      );
    }
    this.jsClient = jetstream(this.controlConn, { timeout: nats.request_timeout });
    this.kvm = new Kvm(this.jsClient);
    for (const nc of [this.dataConn, this.controlConn]) void this.watchStatus(nc);
  }

  /**
   * Starts answering other nodes' requests to this node. Called once this node holds its name in the
   * cluster (membership.ts), so a node refused for a duplicate name never answers in the other's place.
   */
  async serve(): Promise<void> {
    this.rpcSub = this.control.subscribe(`${this.rpcSubject(this.node)}.*`, {
      callback: (err, msg) => {
        if (err === null) void this.serveRpc(msg);
      },
    });
    await this.control.flush();
  }

  /** Closes both connections after their pending messages went out. */
  async stop(): Promise<void> {
    this.rpcSub?.unsubscribe();
    const conns = [this.dataConn, this.controlConn];
    this.dataConn = undefined;
    this.controlConn = undefined;
    for (const nc of conns) {
      if (nc === undefined || nc.isClosed()) continue;
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    }
  }

  /** Subject under this cluster's prefix: `sub('hb', node)` → `hm.<cluster>.hb.<node>`. */
  sub(...tokens: string[]): string {
    return `${this.prefix}.${tokens.join('.')}`;
  }

  /** Bucket or stream name of this cluster: `bucket('clients')` → `hm_<cluster>_clients`. */
  bucket(kind: string): string {
    return `hm_${nameToken(this.config.name)}_${nameToken(kind)}`;
  }

  /** Opens (creating it on first use) this cluster's KV bucket of `kind`, with the configured replicas. */
  kv(kind: string, opts: Partial<KvOptions> = {}): Promise<KV> {
    let bucket = this.buckets.get(kind);
    if (bucket === undefined) {
      const kvm = this.kvm;
      if (kvm === undefined) throw new Error('cluster bus is not connected');
      bucket = kvm.create(this.bucket(kind), { history: 1, replicas: this.config.nats.replicas, ...opts });
      // A failed create must not stick: the next caller tries again.
      bucket.catch(() => this.buckets.delete(kind));
      this.buckets.set(kind, bucket);
    }
    return bucket;
  }

  // ---------------------------------------------------------------- node-to-node requests

  /** Serves `method` for other nodes (one handler per method). */
  handle(method: string, handler: RpcHandler): () => void {
    if (this.rpcHandlers.has(method)) throw new Error(`rpc method ${method} is already served`);
    this.rpcHandlers.set(method, handler);
    return () => this.rpcHandlers.delete(method);
  }

  /** Calls `method` on node `node` with a JSON body; resolves with its JSON answer. */
  async call(node: string, method: string, body?: unknown, timeoutMs?: number): Promise<unknown> {
    const timeout = timeoutMs ?? this.config.nats.request_timeout;
    let reply: Msg;
    try {
      const h = headers();
      h.set('hm-from', this.node);
      reply = await this.control.request(`${this.rpcSubject(node)}.${encodeLevel(method)}`, jsonBytes(body), {
        timeout,
        headers: h,
      });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'NoRespondersError' || /no responders/i.test(e.message))
        throw new RpcError(`node ${node} is not in the cluster`, 'no_node');
      if (e.name === 'TimeoutError' || /timeout/i.test(e.message))
        throw new RpcError(`node ${node} did not answer ${method} within ${timeout} ms`, 'timeout');
      throw new RpcError(`${method} to ${node} failed: ${e.message}`, 'remote');
    }
    const answer = jsonOf(reply.data) as { ok?: unknown; error?: string } | undefined;
    if (answer?.error !== undefined) throw new RpcError(`${node}: ${answer.error}`, 'remote');
    return answer?.ok;
  }

  /** Calls `method` on every listed node at once; each answer or failure by node name. */
  async callAll(
    nodes: Iterable<string>,
    method: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<Map<string, { ok: true; value: unknown } | { ok: false; error: RpcError }>> {
    const list = [...nodes];
    const answers = await Promise.allSettled(list.map((n) => this.call(n, method, body, timeoutMs)));
    const out = new Map<string, { ok: true; value: unknown } | { ok: false; error: RpcError }>();
    answers.forEach((a, i) => {
      out.set(
        list[i]!,
        a.status === 'fulfilled' ? { ok: true, value: a.value } : { ok: false, error: a.reason as RpcError },
      );
    });
    return out;
  }

  /** Subject prefix of a node's rpc methods. */
  private rpcSubject(node: string): string {
    return this.sub('rpc', encodeLevel(node));
  }

  private async serveRpc(msg: Msg): Promise<void> {
    const method = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    const handler = this.rpcHandlers.get(method);
    const from = msg.headers?.get('hm-from') ?? '';
    let answer: unknown;
    if (handler === undefined) answer = { error: `no rpc method ${method}` };
    else {
      try {
        answer = { ok: await handler(jsonOf(msg.data), from) };
      } catch (err) {
        answer = { error: (err as Error).message };
      }
    }
    if (msg.reply === undefined) return;
    try {
      msg.respond(jsonBytes(answer));
    } catch (err) {
      // An answer the bus refuses (over max_payload, connection closing) must not become an unhandled
      // rejection: tell the caller why instead, so its call fails with a reason rather than a timeout.
      logger.warn({ err, method }, 'cluster: rpc answer not sent');
      try {
        msg.respond(jsonBytes({ error: `answer to ${method} not sent: ${(err as Error).message}` }));
      } catch {
        // The connection itself is gone; the caller times out.
      }
    }
  }

  // ---------------------------------------------------------------- connection state

  /** Follows connection loss and recovery (either connection). Returns an unsubscribe function. */
  onEvent(listener: (e: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.emit('disconnected');
      else if (s.type === 'reconnect') this.emit('reconnected');
      else if (s.type === 'slowConsumer')
        logger.warn({ pending: s.pending }, 'cluster: this node is a slow consumer on the bus');
    }
  }

  private emit(e: BusEvent): void {
    logger.warn({ node: this.node }, `cluster: bus ${e}`);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        logger.error({ err }, 'cluster: bus event listener failed');
      }
    }
  }

  private connectionOptions(role: 'data' | 'control', noEcho: boolean): ConnectionOptions {
    const n = this.config.nats;
    const opts: ConnectionOptions = {
      servers: n.servers,
      name: `${this.node}/${role}`,
      noEcho,
      timeout: n.connect_timeout,
      // Stay up: a node keeps serving its local clients while the bus is away, and re-joins when it is back.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      pingInterval: 10_000,
    };
    if (n.username !== '') {
      opts.user = n.username;
      opts.pass = n.password;
    }
    if (n.token !== '') opts.token = n.token;
    if (n.creds_file !== '') opts.authenticator = credsAuthenticator(readFileSync(n.creds_file));
    if (n.tls.enable) {
      opts.tls = {};
      if (n.tls.cacertfile !== '') opts.tls.caFile = n.tls.cacertfile;
      if (n.tls.certfile !== '') opts.tls.certFile = n.tls.certfile;
      if (n.tls.keyfile !== '') opts.tls.keyFile = n.tls.keyfile;
    }
    return opts;
  }
}
