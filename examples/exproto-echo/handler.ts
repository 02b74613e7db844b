/**
 * An ExProto handler: an echo service plus a small line protocol, for a device on `telnet 127.0.0.1 7993`.
 *
 *   CONNECT <clientid> [<username> <password>]   log in         → CONNACK <result>
 *   SUB <topic>                                   subscribe      → SUBACK <result>
 *   PUB <topic> <text>                            publish (QoS 1) → PUBACK <result>
 *   anything else                                 echoed back
 *   messages on subscribed topics                 → MSG <topic> <text>
 *
 * It serves ConnectionUnaryHandler (the gateway calls it with socket events) and calls the gateway's
 * ConnectionAdapter back. Arguments: [handler port, default 9001] [adapter address, default 127.0.0.1:9100].
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';

type Obj = Record<string, unknown>;
type Callback = (err: grpc.ServiceError | null, res: Obj) => void;

const here = path.dirname(fileURLToPath(import.meta.url));
const protoFile = path.resolve(here, '../../../proto/exproto.proto');
const port = Number(process.argv[2] ?? 9001);
const adapterAddress = process.argv[3] ?? '127.0.0.1:9100';

const def = loader.loadSync(protoFile, { keepCase: true, enums: String, longs: Number, defaults: true });
const v1 = (
  grpc.loadPackageDefinition(def) as unknown as {
    emqx: { exproto: { v1: Record<string, grpc.ServiceClientConstructor> } };
  }
).emqx.exproto.v1;
// Note: generated clients also name the Close rpc `close`, so never call adapter.close() to hang up.
const adapter = new v1.ConnectionAdapter!(
  adapterAddress,
  grpc.credentials.createInsecure(),
) as unknown as Record<string, (req: Obj, cb: Callback) => void>;

/** Calls one adapter rpc and answers its result code name ('SUCCESS', 'PERMISSION_DENY', …). */
function call(rpc: string, req: Obj): Promise<string> {
  return new Promise((resolve) =>
    adapter[rpc]!(req, (err, res) => resolve(err ? `ERROR ${err.details}` : String(res.code))),
  );
}

const say = (conn: string, text: string) => call('Send', { conn, bytes: Buffer.from(`${text}\r\n`) });

/** Unfinished input per connection: TCP may split or join lines anywhere. */
const partial = new Map<string, string>();

async function onLine(conn: string, line: string): Promise<void> {
  const [cmd, ...args] = line.split(' ');
  switch (cmd) {
    case 'CONNECT': {
      const clientinfo = {
        proto_name: 'echo',
        proto_ver: '1',
        clientid: args[0] ?? '',
        username: args[1] ?? '',
      };
      const code = await call('Authenticate', { conn, clientinfo, password: args[2] ?? '' });
      await say(conn, `CONNACK ${code}`);
      return;
    }
    case 'SUB':
      await say(conn, `SUBACK ${await call('Subscribe', { conn, topic: args[0], qos: 1 })}`);
      return;
    case 'PUB': {
      const payload = Buffer.from(args.slice(1).join(' '));
      await say(conn, `PUBACK ${await call('Publish', { conn, topic: args[0], qos: 1, payload })}`);
      return;
    }
    default:
      await say(conn, line);
  }
}

/** Runs `work` and answers the gateway once it is done (events of one connection arrive one at a time). */
function handle(work: (req: Obj) => Promise<void> | void) {
  return (call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => {
    Promise.resolve(work(call.request)).then(
      () => cb(null, {}),
      (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message }),
    );
  };
}

const server = new grpc.Server();
server.addService(v1.ConnectionUnaryHandler!.service, {
  OnSocketCreated: handle((req) => {
    const peer = (req.conninfo as { peername: { host: string; port: number } }).peername;
    console.log(`connected ${peer.host}:${peer.port} as ${req.conn}`);
  }),
  OnSocketClosed: handle((req) => {
    partial.delete(req.conn as string);
    console.log(`closed ${req.conn}: ${req.reason}`);
  }),
  OnReceivedBytes: handle(async (req) => {
    const conn = req.conn as string;
    const lines = ((partial.get(conn) ?? '') + (req.bytes as Buffer).toString()).split('\n');
    partial.set(conn, lines.pop()!);
    for (const line of lines) if (line.trim() !== '') await onLine(conn, line.trim());
  }),
  OnTimerTimeout: handle(() => undefined),
  OnReceivedMessages: handle(async (req) => {
    for (const m of req.messages as Obj[])
      await say(req.conn as string, `MSG ${m.topic} ${(m.payload as Buffer).toString()}`);
  }),
});
server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  console.log(`ConnectionUnaryHandler listening on ${bound}; the gateway's adapter is ${adapterAddress}`);
  console.log('Try: telnet 127.0.0.1 7993');
});
