/**
 * A real ExHook server for tests: @grpc/grpc-js serving HookProvider from a .proto file (Hermod's v3 or v1
 * file, or the v2 one under test/exhook/protos), recording every request. Valued rpcs answer IGNORE and
 * notifications EmptySuccess unless a test gives handlers; it can be slowed, held, stopped and restarted
 * on the same port, and serve TLS that requires a client certificate.
 */
import path from 'node:path';
import {
  type GrpcObject,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { readFixture, repoRoot } from '../helpers/fixtures.js';

export type Version = 'v1' | 'v2' | 'v3';
export type Request = Record<string, unknown> & { meta?: Record<string, string> };
export type Handler = (req: Request) => unknown | Promise<unknown>;

export interface Call {
  rpc: string;
  req: Request;
}

export interface ProviderOptions {
  version?: Version;
  /** Returned by OnProviderLoaded. */
  hooks?: Array<{ name: string; topics?: string[] }>;
  /** Per-rpc answers (default: IGNORE for valued rpcs, {} for the others). */
  handlers?: Record<string, Handler>;
  /** Bind this port (to come back where a killed server was). */
  port?: number;
  /** Serve TLS with server.pem, asking for a client certificate signed by ca.pem. */
  tls?: boolean;
}

const VALUED = new Set(['OnClientAuthenticate', 'OnClientAuthorize', 'OnClientCheckAcl', 'OnMessagePublish']);

/** The .proto a server of this version is built from. */
export function protoFile(version: Version): string {
  if (version === 'v3') return path.join(repoRoot(), 'proto', 'exhook.proto');
  if (version === 'v1') return path.join(repoRoot(), 'proto', 'exhook_v1.proto');
  return path.join(repoRoot(), 'test', 'exhook', 'protos', 'exhook_v2.proto');
}

function serviceOf(version: Version): ServiceDefinition {
  const def = loadSync(protoFile(version), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(def) as unknown as { emqx: { exhook: Record<Version, GrpcObject> } };
  return (pkg.emqx.exhook[version].HookProvider as unknown as { service: ServiceDefinition }).service;
}

/** All hook names (19), each with no topic filter. */
export const ALL_HOOKS = [
  'client.connect',
  'client.connack',
  'client.connected',
  'client.disconnected',
  'client.authenticate',
  'client.authorize',
  'client.subscribe',
  'client.unsubscribe',
  'session.created',
  'session.subscribed',
  'session.unsubscribed',
  'session.resumed',
  'session.discarded',
  'session.takenover',
  'session.terminated',
  'message.publish',
  'message.delivered',
  'message.acked',
  'message.dropped',
].map((name) => ({ name }));

export class TestProvider {
  readonly calls: Call[] = [];
  handlers: Record<string, Handler>;
  hooks: Array<{ name: string; topics?: string[] }>;
  private server: Server | undefined;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly version: Version,
    private readonly opts: ProviderOptions,
    public port: number,
  ) {
    this.handlers = { ...opts.handlers };
    this.hooks = opts.hooks ?? ALL_HOOKS;
  }

  /** Starts a server on a free port (or opts.port). */
  static async start(opts: ProviderOptions = {}): Promise<TestProvider> {
    const p = new TestProvider(opts.version ?? 'v3', opts, opts.port ?? 0);
    await p.listen();
    return p;
  }

  /** The url Hermod is given. */
  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Binds again on the same port after stop(). */
  async listen(): Promise<void> {
    const server = new Server();
    const impl: UntypedServiceImplementation = {};
    const service = serviceOf(this.version);
    for (const [key, method] of Object.entries(service)) {
      // The path is /emqx.exhook.vN.HookProvider/OnX; the implementation is keyed by the method name.
      const rpc = method.path.slice(method.path.lastIndexOf('/') + 1);
      impl[key] = (call: ServerUnaryCall<Request, unknown>, cb: sendUnaryData<unknown>) => {
        this.record(rpc, call.request);
        void this.answer(rpc, call.request).then(
          (resp) => cb(null, resp),
          (err: Error & { code?: number }) => cb({ code: err.code ?? 2, details: err.message }),
        );
      };
    }
    server.addService(service, impl);
    const creds = this.opts.tls
      ? ServerCredentials.createSsl(
          readFixture('certs', 'ca.pem'),
          [
            {
              private_key: readFixture('certs', 'server.key'),
              cert_chain: readFixture('certs', 'server.pem'),
            },
          ],
          true,
        )
      : ServerCredentials.createInsecure();
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.server = server;
  }

  private async answer(rpc: string, req: Request): Promise<unknown> {
    const h = this.handlers[rpc];
    if (h !== undefined) return h(req);
    if (rpc === 'OnProviderLoaded') return { hooks: this.hooks };
    if (VALUED.has(rpc)) return { type: 'IGNORE' };
    return {};
  }

  private record(rpc: string, req: Request): void {
    this.calls.push({ rpc, req });
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Requests of one rpc received so far. */
  of(rpc: string): Request[] {
    return this.calls.filter((c) => c.rpc === rpc).map((c) => c.req);
  }

  /** Waits until a request of `rpc` matching `match` arrived; resolves with it. */
  async waitFor(
    rpc: string,
    match: (req: Request) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Request> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.calls.find((c) => c.rpc === rpc && match(c.req));
      if (hit) return hit.req;
      const left = until - Date.now();
      if (left <= 0) {
        throw new Error(`no ${rpc} within ${timeoutMs} ms; got ${this.calls.map((c) => c.rpc).join(',')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Kills the server at once (connections cut, calls in progress fail). */
  kill(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    this.kill();
  }
}

/** A Promise that resolves after ms. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true (or throws after timeoutMs). */
export async function eventually(
  check: () => boolean,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}
