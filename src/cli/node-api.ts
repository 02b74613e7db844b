/**
 * How `hermod ctl` and `hermod stop` find a running node: its data dir (--data-dir, HERMOD_DATA_DIR,
 * node.data_dir of --config / HERMOD_CONFIG and the environment, else "data"), then the API endpoint and
 * local credential the node wrote there. Calls go to the REST API on loopback.
 */
import { loadConfig } from '../config/load.js';
import { type Endpoint, readCredential, readEndpoint } from '../mgmt/runtime.js';

export interface Locate {
  dataDir?: string;
  config?: string;
}

/** The data dir of the node to talk to. Throws with a readable message when --config is unusable. */
export function locateDataDir(opts: Locate, env: Record<string, string | undefined> = process.env): string {
  if (opts.dataDir !== undefined) return opts.dataDir;
  if (env.HERMOD_DATA_DIR) return env.HERMOD_DATA_DIR;
  const file = opts.config ?? (env.HERMOD_CONFIG || undefined);
  const loaded = loadConfig({ file, env });
  if (!loaded.ok) {
    const why = loaded.errors.map((e) => `${e.path ?? ''} ${e.message}`.trim()).join('; ');
    throw new Error(`cannot read the config${file !== undefined ? ` ${file}` : ''}: ${why}`);
  }
  return loaded.config.node.data_dir;
}

/** An API error answer, or a node that cannot be reached. */
export class NodeApiError extends Error {
  constructor(
    message: string,
    readonly status = 0,
    readonly code = '',
  ) {
    super(message);
  }
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** A connection to the REST API of the node living in a data dir (found on first use). */
export class NodeApi {
  private found: { endpoint: Endpoint; auth: string } | undefined;

  constructor(private readonly dataDir: () => string) {}

  /** The node's endpoint file (throws NodeApiError when the node is not running). */
  get endpoint(): Endpoint {
    return this.find().endpoint;
  }

  private find(): { endpoint: Endpoint; auth: string } {
    if (this.found !== undefined) return this.found;
    const dir = this.dataDir();
    const ep = readEndpoint(dir);
    const cred = readCredential(dir);
    if (ep === undefined || cred === undefined)
      throw new NodeApiError(`Node is not running (no ctl.endpoint / ctl.credential in ${dir})`);
    this.found = { endpoint: ep, auth: `Basic ${Buffer.from(`${cred[0]}:${cred[1]}`).toString('base64')}` };
    return this.found;
  }

  /** Calls `method path` (path under /api/v5); non-2xx answers throw NodeApiError with EMQX's code. */
  async call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const { endpoint, auth } = this.find();
    let res: Response;
    try {
      res = await fetch(`${endpoint.url}/api/v5${path}`, {
        method,
        headers: {
          authorization: auth,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new NodeApiError(`Node is not reachable at ${endpoint.url}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text.length > 0)
      parsed = JSON.parse(text);
    if (res.status >= 400) {
      const e = parsed as { code?: string; message?: string };
      throw new NodeApiError(`${e.code ?? res.status}: ${e.message ?? text}`, res.status, e.code ?? '');
    }
    return { status: res.status, body: parsed };
  }

  /** GET of every page of a paged list. */
  async all(path: string): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    const sep = path.includes('?') ? '&' : '?';
    for (let page = 1; ; page++) {
      const r = (await this.call('GET', `${path}${sep}page=${page}&limit=10000`)).body as {
        data: Array<Record<string, unknown>>;
        meta: { hasnext: boolean };
      };
      out.push(...r.data);
      if (!r.meta.hasnext) return out;
    }
  }
}
