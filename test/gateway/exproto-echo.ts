/**
 * An ExProto handler for tests, written as a user would with @grpc/grpc-js and @grpc/proto-loader: a line
 * protocol over the gateway's sockets ("CONNECT id [user pass [mountpoint]]", "SUB t", "UNSUB t", "PUB t text",
 * "RAW t text", "KEEPALIVE secs", "CLOSE"; any other line is echoed), messages delivered as "MSG t text".
 * It records the events it got, so tests can assert what the gateway told it.
 */
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { exprotoProtoPath } from '../../src/gateway/exproto/proto.js';

type Obj = Record<string, unknown>;
/** PEM certificate chain and key. */
export type KeyPair = { cert: Buffer; key: Buffer };
type Adapter = grpc.Client & Record<string, (req: Obj, cb: (err: Error | null, res: Obj) => void) => void>;

/** One event the handler received. */
export interface HandlerEvent {
  rpc: string;
  conn: string;
  request: Obj;
}

/** A running echo handler. */
export interface EchoHandler {
  port: number;
  events: HandlerEvent[];
  /** When set, OnReceivedBytes answers after this many ms (a slow handler). */
  delayMs: number;
  /** When set, every handler rpc fails with this gRPC status. */
  failWith: grpc.status | undefined;
  /** Calls an adapter rpc directly (for bad-input tests). */
  adapter(rpc: string, req: Obj): Promise<Obj>;
  stop(): Promise<void>;
}

const OPTS = { keepCase: true, enums: String, longs: Number, defaults: true };

/** Starts the handler on a free port, calling the gateway's ConnectionAdapter at the port `adapterPort()` gives. */
export async function startEchoHandler(
  adapterPort: () => number,
  opts: { streaming?: boolean; port?: number; tls?: { ca: Buffer; server: KeyPair; client: KeyPair } } = {},
): Promise<EchoHandler> {
  const def = loader.loadSync(exprotoProtoPath(), OPTS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    emqx: { exproto: { v1: Record<string, grpc.ServiceClientConstructor> } };
  };
  const v1 = pkg.emqx.exproto.v1;
  // Created on first use: the gateway (and so its adapter port) usually starts after the handler.
  let client: Adapter | undefined;
  const adapter = (rpc: string, req: Obj): Promise<Obj> => {
    client ??= new v1.ConnectionAdapter!(
      `127.0.0.1:${adapterPort()}`,
      opts.tls
        ? grpc.credentials.createSsl(opts.tls.ca, opts.tls.client.key, opts.tls.client.cert)
        : grpc.credentials.createInsecure(),
    ) as unknown as Adapter;
    const c = client;
    return new Promise((resolve, reject) => c[rpc]!(req, (err, res) => (err ? reject(err) : resolve(res))));
  };
  const buffers = new Map<string, string>();

  const h: EchoHandler = {
    port: 0,
    events: [],
    delayMs: 0,
    failWith: undefined,
    adapter,
    stop: async () => {
      // Not client.close() (nor grpc.closeClient): generated clients name the Close rpc `close` too.
      if (client !== undefined) grpc.Client.prototype.close.call(client);
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      server.forceShutdown();
    },
  };

  const line = async (conn: string, text: string): Promise<void> => {
    const [cmd, ...args] = text.split(' ');
    const say = (s: string) => adapter('Send', { conn, bytes: Buffer.from(`${s}\n`) });
    switch (cmd) {
      case 'CONNECT': {
        const r = await adapter('Authenticate', {
          conn,
          clientinfo: {
            proto_name: 'echo',
            proto_ver: '1',
            clientid: args[0],
            username: args[1] ?? '',
            mountpoint: args[3] ?? '',
          },
          password: args[2] ?? '',
        });
        await say(`CONNACK ${r.code}`);
        if (r.code !== 'SUCCESS') await adapter('Close', { conn });
        return;
      }
      case 'SUB':
        await say(
          `SUBACK ${(await adapter('Subscribe', { conn, topic: args[0], qos: Number(args[1] ?? 1) })).code}`,
        );
        return;
      case 'UNSUB':
        await say(`UNSUBACK ${(await adapter('Unsubscribe', { conn, topic: args[0] })).code}`);
        return;
      case 'PUB': {
        const payload = Buffer.from(args.slice(1).join(' '));
        await say(`PUBACK ${(await adapter('Publish', { conn, topic: args[0], qos: 1, payload })).code}`);
        return;
      }
      case 'RAW': {
        const payload = Buffer.from(args.slice(1).join(' '));
        await say(`RAWACK ${(await adapter('RawPublish', { topic: args[0], qos: 0, payload })).code}`);
        return;
      }
      case 'KEEPALIVE':
        await say(
          `TIMER ${(await adapter('StartTimer', { conn, type: 'KEEPALIVE', interval: Number(args[0]) })).code}`,
        );
        return;
      case 'CLOSE':
        await adapter('Close', { conn });
        return;
      default:
        await say(text);
    }
  };

  const onEvent = async (rpc: string, req: Obj): Promise<void> => {
    const conn = req.conn as string;
    h.events.push({ rpc, conn, request: req });
    if (rpc === 'OnReceivedBytes') {
      if (h.delayMs > 0) await new Promise((r) => setTimeout(r, h.delayMs));
      const text = (buffers.get(conn) ?? '') + (req.bytes as Buffer).toString();
      const lines = text.split('\n');
      buffers.set(conn, lines.pop()!);
      for (const l of lines) if (l.trim() !== '') await line(conn, l.trim());
    } else if (rpc === 'OnReceivedMessages') {
      for (const m of req.messages as Obj[])
        await adapter('Send', {
          conn,
          bytes: Buffer.from(`MSG ${m.topic} ${(m.payload as Buffer).toString()}\n`),
        });
    } else if (rpc === 'OnSocketClosed') buffers.delete(conn);
  };

  const RPCS = [
    'OnSocketCreated',
    'OnSocketClosed',
    'OnReceivedBytes',
    'OnTimerTimeout',
    'OnReceivedMessages',
  ];
  const impl: grpc.UntypedServiceImplementation = {};
  for (const rpc of RPCS) {
    impl[rpc] = opts.streaming
      ? (call: grpc.ServerReadableStream<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => {
          // Events of one stream handled in order, as EMQX's streaming examples do.
          let chain = Promise.resolve();
          call.on('data', (req: Obj) => {
            chain = chain.then(() => onEvent(rpc, req)).catch(() => undefined);
          });
          call.on('end', () => chain.then(() => cb(null, {})));
        }
      : (call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => {
          if (h.failWith !== undefined) {
            cb({ code: h.failWith, details: 'handler told to fail' } as grpc.ServiceError);
            return;
          }
          onEvent(rpc, call.request).then(
            () => cb(null, {}),
            (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message } as grpc.ServiceError),
          );
        };
  }
  const serverCredentials = opts.tls
    ? grpc.ServerCredentials.createSsl(opts.tls.ca, [
        { cert_chain: opts.tls.server.cert, private_key: opts.tls.server.key },
      ])
    : grpc.ServerCredentials.createInsecure();
  const server = new grpc.Server();
  server.addService(v1[opts.streaming ? 'ConnectionHandler' : 'ConnectionUnaryHandler']!.service, impl);
  h.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${opts.port ?? 0}`, serverCredentials, (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  return h;
}
