/**
 * A gateway written only for tests, and the example src/gateway/README.md walks through: a line protocol
 * ("CONNECT id [nosession]", "SUB t", "PUB t text", "TIMER name key ms data", "CANCEL name key",
 * "WAIT gate") with its own API route, a command served through `call()`, keyed data timers and logins
 * without a broker session.
 */
import type { FastifyInstance } from 'fastify';
import type { KickReason } from '../../src/broker/client-registry.js';
import {
  type GatewayCommonConfig,
  GatewayEntry,
  gatewayCommonFields,
  gatewayListeners,
} from '../../src/config/schema/gateway-common.js';
import { andThen } from '../../src/gateway/maybe-async.js';
import type {
  CallAnswer,
  ChannelCall,
  ChannelContext,
  Delivery,
  FrameCodec,
  FrameError,
  GatewayApi,
  GatewayChannel,
  GatewayDescriptor,
  GatewayModule,
  ParseOutput,
  Replies,
  Reply,
} from '../../src/gateway/types.js';

type R = Reply<string>;

/** Schema-only part: what the catalogue and the config layer read. */
export const dummyDescriptor: GatewayDescriptor = {
  name: 'dummy',
  protocol: 'dummy',
  description: 'Line protocol for framework tests',
  listenerTypes: ['tcp', 'udp'],
  schema: GatewayEntry(
    { ...gatewayCommonFields({}), listeners: gatewayListeners({ tcp: 7000, udp: 7001 }) },
    'The test gateway.',
  ),
};

/** Gates a `WAIT <gate>` line blocks on, opened by the test (an asynchronous step it controls). */
export const gates = new Map<string, () => void>();

/** Lines in, lines out; on a datagram transport each datagram is one line. */
class LineCodec implements FrameCodec<string> {
  private rest = '';
  feed(chunk: Buffer): ParseOutput<string> {
    const parts = (this.rest + chunk.toString('utf8')).split('\n');
    this.rest = parts.pop()!;
    return { frames: parts.filter((l) => l !== '') };
  }
  serialize(line: string): Buffer {
    return Buffer.from(`${line}\n`);
  }
}

const send = (line: string): R => ({ type: 'send', frame: line });

class DummyChannel implements GatewayChannel<string> {
  private loggedIn = false;

  constructor(private readonly ctx: ChannelContext) {}

  handleIn(line: string): Replies<string> {
    const [cmd, ...args] = line.split(' ');
    if (cmd === 'CONNECT') return this.connect(args[0] ?? '', args[1] === 'nosession');
    if (!this.loggedIn) return [send('ERROR not connected'), { type: 'close', reason: 'not_connected' }];
    switch (cmd) {
      case 'SUB':
        return andThen(this.ctx.subscribe(args[0]!, { qos: 0, nl: 0, rap: 0, rh: 0 }), (r) => [
          send(r.result === 'ok' ? `SUBACK ${args[0]}` : `SUBERR ${r.message}`),
        ]);
      case 'PUB':
        return andThen(
          this.ctx.publish({
            topic: args[0]!,
            payload: Buffer.from(args.slice(1).join(' ')),
            qos: 0,
            retain: false,
          }),
          (r) => [send(`PUBACK ${r.result}`)],
        );
      case 'TIMER':
        return [{ type: 'timer', name: args[0]!, key: args[1], ms: Number(args[2]), data: args[3] }];
      case 'CANCEL':
        return [{ type: 'cancel_timer', name: args[0]!, key: args[1] }];
      case 'WAIT':
        return new Promise<R[]>((resolve) => gates.set(args[0]!, () => resolve([send(`DONE ${args[0]}`)])));
      default:
        return [send(`ERROR unknown ${cmd}`)];
    }
  }

  private connect(clientid: string, sessionless: boolean): Replies<string> {
    const login = this.ctx.login({
      clientid,
      packet: {},
      proto_name: 'DUMMY',
      proto_ver: 1,
      keepalive: 0,
      clean_start: true,
      expiry_interval: 0,
      sessionMode: sessionless ? 'none' : 'broker',
    });
    return andThen(login, (r): R[] => {
      if (!r.ok) return [send(`REFUSED ${r.reason}`), { type: 'close', reason: r.reason }];
      this.loggedIn = true;
      return [send('CONNACK'), { type: 'connected' }];
    });
  }

  handleFrameError(err: FrameError): R[] {
    return [send(`ERROR ${err.message}`)];
  }

  handleDeliver(d: Delivery): R[] {
    return [send(`MSG ${d.topic} ${d.msg.payload.toString()}`)];
  }

  handleTimeout(name: string, data: unknown): R[] {
    return [send(`FIRED ${name} ${String(data)}`)];
  }

  handleKick(reason: KickReason): R[] {
    return [send(`BYE ${reason}`), { type: 'close', reason }];
  }

  handleClosed(): void {
    this.loggedIn = false;
  }

  handleCall(call: ChannelCall): CallAnswer<string> | Promise<CallAnswer<string>> {
    if (call.type === 'command' && call.name === 'echo') {
      // The answer goes to the caller, and the client is told too: replies of a call are carried out.
      return { result: { ok: true, data: call.data }, replies: [send(`CALL ${String(call.data)}`)] };
    }
    if (call.type === 'command')
      return { result: { ok: false, status: 400, message: `no command ${call.name}` }, replies: [] };
    // Subscriptions by API: the framework's way, through the context.
    if (call.type === 'unsubscribe')
      return andThen(this.ctx.unsubscribe(call.topic), () => ({ result: { ok: true }, replies: [] }));
    return andThen(this.ctx.subscribe(call.topic, call.opts), (r) => ({
      result:
        r.result === 'ok'
          ? { ok: true, topic: r.topic, opts: call.opts }
          : { ok: false, status: 400, message: r.message },
      replies: [],
    }));
  }
}

/** The gateway's own routes: GET /gateways/dummy/clients/:clientid/echo?text=… runs a call on the client. */
async function routes(app: FastifyInstance, api: GatewayApi): Promise<void> {
  app.get<{ Params: { clientid: string }; Querystring: { text?: string } }>(
    '/clients/:clientid/echo',
    async (req, reply) => {
      const rt = api.runtime();
      if (rt === undefined) return reply.code(404).send({ code: 'NOT_FOUND', message: 'Gateway not loaded' });
      const conn = rt.connection(req.params.clientid);
      if (conn === undefined)
        return reply.code(404).send({ code: 'CLIENT_NOT_FOUND', message: 'client process not found' });
      const r = await conn.call({ type: 'command', name: 'echo', data: req.query.text ?? '' });
      if (!r.ok) return reply.code(r.status).send({ code: 'BAD_REQUEST', message: r.message });
      return { echo: r.data };
    },
  );
}

/** The module: descriptor + codec + channel + routes. */
export const dummyGateway: GatewayModule<string, GatewayCommonConfig> = {
  ...dummyDescriptor,
  createCodec: () => new LineCodec(),
  createChannel: (ctx) => new DummyChannel(ctx),
  routes,
};

/** The same gateway with a channel that serves no calls: the framework's subscribe/unsubscribe apply. */
export const dummyGatewayWithoutCalls: GatewayModule<string, GatewayCommonConfig> = {
  ...dummyGateway,
  createChannel: (ctx) => Object.assign(new DummyChannel(ctx), { handleCall: undefined }),
};
