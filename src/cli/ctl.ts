/**
 * `hermod ctl <command>`: `emqx ctl` for Hermod. Each command is one or two REST API calls to the running
 * node (found through its data dir) with the node's local credential. Text output by default, `--json`
 * prints the API's answer for scripts. A bad command or bad arguments print the usage and exit 1.
 */
import { PLUGINS_USAGE, pluginCtlCommand, pluginsCommand } from './ctl-plugins.js';
import { type Locate, locateDataDir, NodeApi, NodeApiError } from './node-api.js';

type Row = Record<string, unknown>;

/** Bad arguments for one command (its usage is printed). */
class UsageError extends Error {}

interface Io {
  json: boolean;
  /** Prints text, or the JSON value when --json. */
  print(text: string | string[], value: unknown): void;
}

interface Command {
  usage: string[];
  run(api: NodeApi, args: string[], io: Io): Promise<void>;
}

const enc = encodeURIComponent;

function need(args: string[], n: number, max = n): void {
  if (args.length < n || args.length > max) throw new UsageError();
}

/** `key : value` lines with the keys padded, as emqx ctl prints. */
function table(obj: Row): string[] {
  const width = Math.max(0, ...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj).map(
    ([k, v]) => `${k.padEnd(width)} : ${typeof v === 'string' ? v : JSON.stringify(v)}`,
  );
}

function clientLine(c: Row): string {
  const fields = [
    `username=${c.username ?? 'undefined'}`,
    `peername=${c.ip_address}:${c.port}`,
    `clean_start=${c.clean_start}`,
    `keepalive=${c.keepalive}`,
    `session_expiry_interval=${c.expiry_interval}`,
    `subscriptions=${c.subscriptions_cnt}`,
    `inflight=${c.inflight_cnt}`,
    `awaiting_rel=${c.awaiting_rel_cnt}`,
    `delivered_msgs=${c.send_msg}`,
    `enqueued_msgs=${c.mqueue_len}`,
    `dropped_msgs=${c.mqueue_dropped}`,
    `connected=${c.connected}`,
    `created_at=${c.created_at}`,
    `connected_at=${c.connected_at}`,
  ];
  return `Client(${c.clientid}, ${fields.join(', ')})`;
}

function subLine(s: Row): string {
  return `${s.clientid} -> topic:${s.topic} qos:${s.qos} nl:${s.nl} rap:${s.rap} rh:${s.rh}`;
}

function uptime(ms: number): string {
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['days', 86400],
    ['hours', 3600],
    ['minutes', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
  }
  parts.push(`${s} seconds`);
  return parts.join(', ');
}

/** Walks a dotted path in a config object. */
function at(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !(p in (cur as Row))) return undefined;
    cur = (cur as Row)[p];
  }
  return cur;
}

const BUILT_IN = '/authentication/password_based:built_in_database';

/**
 * `<name> list|add|update|passwd|del` on the built-in database authenticator (EMQX 3.x/4.x's user and client
 * id tables). With `idType`, the authenticator must identify users that way: Hermod's built-in database has
 * one id type, where 4.x kept a username table and a client id table side by side.
 */
function builtInUsers(name: string, id: string, idType?: 'username' | 'clientid'): Command {
  const pad = (t: string) => `${name} ${t}`.padEnd(40);
  return {
    usage: [
      `${pad('list')}# List the ${id === 'ClientId' ? 'client ids' : 'users'} of the built-in database`,
      `${pad(`add <${id}> <Password>`)}# Add one`,
      `${pad(`update <${id}> <Password>`)}# Change its password (also: passwd)`,
      `${pad(`del <${id}>`)}# Delete one`,
    ],
    async run(api, args, io) {
      const [sub, user, pwd] = args;
      const arity: Record<string, number> = { list: 1, add: 3, update: 3, passwd: 3, del: 2 };
      if (sub === undefined || arity[sub] !== args.length) throw new UsageError();
      if (idType !== undefined) {
        const cfg = (await api.call('GET', BUILT_IN)).body as Row;
        const actual = cfg.user_id_type ?? 'username';
        if (actual !== idType)
          throw new NodeApiError(
            `the built-in database identifies clients by ${actual}, not ${idType}: use hermod ctl ${actual === 'clientid' ? 'clientid' : 'user'}`,
            400,
            'BAD_REQUEST',
          );
      }
      const base = `${BUILT_IN}/users`;
      if (sub === 'list') {
        const names = (await api.all(base)).map((u) => String(u.user_id));
        io.print(names, names);
        return;
      }
      if (sub === 'add') await api.call('POST', base, { user_id: user, password: pwd });
      else if (sub === 'del') await api.call('DELETE', `${base}/${enc(user!)}`);
      else await api.call('PUT', `${base}/${enc(user!)}`, { password: pwd });
      io.print('ok', { result: 'ok' });
    },
  };
}

/** `topics` and 4.x's `routes`: the route table (topic → node). */
function routeTable(name: string, what: string): Command {
  return {
    usage: [
      `${`${name} list`.padEnd(31)}# List all ${what}`,
      `${`${name} show <Topic>`.padEnd(31)}# Show a ${what.replace(/s$/, '')}`,
    ],
    async run(api, args, io) {
      const [sub, topic] = args;
      let rows: Row[];
      if (sub === 'list') {
        need(args, 1);
        rows = await api.all('/topics');
      } else if (sub === 'show' && topic !== undefined) {
        need(args, 2);
        rows = (await api.call('GET', `/topics/${enc(topic)}`)).body as Row[];
      } else throw new UsageError();
      io.print(rows.length === 0 ? `No ${what}.` : rows.map((r) => `${r.topic} -> ${r.node}`), rows);
    },
  };
}

const COMMANDS: Record<string, Command> = {
  status: {
    usage: ['status                         # Show broker status'],
    async run(api, args, io) {
      need(args, 0);
      const s = (await api.call('GET', '/status?format=json')).body as Row;
      io.print(`Node '${s.node_name}' ${s.rel_vsn} is ${s.broker_status}`, s);
    },
  },
  cluster: {
    usage: [
      'cluster status                 # Show running and stopped nodes',
      'cluster join <Node>            # Join a cluster (automatic in Hermod: explains how)',
      'cluster leave                  # Leave the cluster (automatic in Hermod: explains how)',
      'cluster force-leave <Node>     # Remove a node (automatic in Hermod: explains how)',
    ],
    async run(api, args, io) {
      const [sub, node] = args;
      if (sub === 'status') {
        need(args, 1);
        const nodes = (await api.call('GET', '/nodes')).body as Row[];
        const names = (status: string) =>
          nodes
            .filter((n) => (status === 'running') === (n.node_status === 'running'))
            .map((n) => String(n.node))
            .sort();
        const info = { running_nodes: names('running'), stopped_nodes: names('stopped') };
        const list = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(',')}]`;
        io.print(
          `Cluster status: #{running_nodes => ${list(info.running_nodes)},stopped_nodes => ${list(info.stopped_nodes)}}`,
          info,
        );
        return;
      }
      // The API answers these with why membership needs no command (400), which ctl prints.
      if (sub === 'join' && node !== undefined) {
        need(args, 2);
        await api.call('PUT', `/cluster/${enc(node)}/invite`, {});
      } else if (sub === 'leave') {
        need(args, 1);
        await api.call('DELETE', `/cluster/${enc(api.endpoint.node)}/force_leave`);
      } else if (sub === 'force-leave' && node !== undefined) {
        need(args, 2);
        await api.call('DELETE', `/cluster/${enc(node)}/force_leave`);
      } else throw new UsageError();
      io.print('ok', { result: 'ok' });
    },
  },
  broker: {
    usage: [
      'broker                         # Show broker version, uptime and description',
      'broker stats                   # Show broker statistics of clients, topics, subscribers',
      'broker metrics                 # Show broker metrics',
    ],
    async run(api, args, io) {
      need(args, 0, 1);
      if (args[0] === 'stats' || args[0] === 'metrics') {
        const r = (await api.call('GET', `/${args[0]}?aggregate=true`)).body as Row;
        io.print(table(r), r);
        return;
      }
      if (args[0] !== undefined) throw new UsageError();
      const n = (await api.call('GET', `/nodes/${enc(api.endpoint.node)}`)).body as Row;
      const info = {
        sysdescr: 'Hermod, a multi-protocol IoT message broker',
        version: n.version,
        datetime: new Date().toISOString(),
        uptime: uptime(Number(n.uptime)),
      };
      io.print(table(info), n);
    },
  },
  clients: {
    usage: [
      'clients list                   # List all clients',
      'clients show <ClientId>        # Show a client',
      'clients kick <ClientId>        # Kick out a client',
    ],
    async run(api, args, io) {
      const [sub, id] = args;
      if (sub === 'list') {
        need(args, 1);
        const rows = await api.all('/clients');
        io.print(rows.length === 0 ? 'No clients.' : rows.map(clientLine), rows);
      } else if (sub === 'show' && id !== undefined) {
        need(args, 2);
        const c = (await api.call('GET', `/clients/${enc(id)}`)).body as Row;
        io.print(clientLine(c), c);
      } else if (sub === 'kick' && id !== undefined) {
        need(args, 2);
        await api.call('DELETE', `/clients/${enc(id)}`);
        io.print('ok', { result: 'ok' });
      } else throw new UsageError();
    },
  },
  topics: routeTable('topics', 'topics'),
  // EMQX 4.x `emqx_ctl routes`.
  routes: routeTable('routes', 'routes'),
  subscriptions: {
    usage: [
      'subscriptions list                              # List all subscriptions',
      'subscriptions show <ClientId>                   # Show subscriptions of a client',
      'subscriptions add <ClientId> <Topic> <QoS>      # Add a static subscription manually',
      'subscriptions del <ClientId> <Topic>            # Delete a static subscription manually',
    ],
    async run(api, args, io) {
      const [sub, id, topic, qos] = args;
      if (sub === 'list') {
        need(args, 1);
        const rows = await api.all('/subscriptions');
        io.print(rows.length === 0 ? 'No subscriptions.' : rows.map(subLine), rows);
      } else if (sub === 'show' && id !== undefined) {
        need(args, 2);
        const rows = (await api.call('GET', `/clients/${enc(id)}/subscriptions`)).body as Row[];
        io.print(rows.length === 0 ? 'No subscriptions.' : rows.map(subLine), rows);
      } else if (sub === 'add' && id !== undefined && topic !== undefined && qos !== undefined) {
        need(args, 4);
        if (!['0', '1', '2'].includes(qos)) throw new UsageError();
        const r = await api.call('POST', `/clients/${enc(id)}/subscribe`, { topic, qos: Number(qos) });
        io.print('ok', r.body);
      } else if (sub === 'del' && id !== undefined && topic !== undefined) {
        need(args, 3);
        await api.call('POST', `/clients/${enc(id)}/unsubscribe`, { topic });
        io.print('ok', { result: 'ok' });
      } else throw new UsageError();
    },
  },
  retainer: {
    usage: [
      'retainer info                        # Show the count of stored messages',
      'retainer topics [<Start> <Limit>]    # Show topics of retained messages (default 1 1000)',
      'retainer clean                       # Clean all retained messages',
      'retainer clean <Topic>               # Clean retained messages matching the topic filter',
    ],
    async run(api, args, io) {
      const [sub, a, b] = args;
      if (sub === 'info') {
        need(args, 1);
        const r = (await api.call('GET', '/mqtt/retainer/messages?limit=1')).body as {
          meta: { count: number };
        };
        io.print(`Number of retained messages: ${r.meta.count}`, { count: r.meta.count });
      } else if (sub === 'topics') {
        if (args.length !== 1 && args.length !== 3) throw new UsageError();
        const start = a === undefined ? 1 : Number(a);
        const limit = b === undefined ? 1000 : Number(b);
        if (!Number.isInteger(start) || !Number.isInteger(limit) || start < 1 || limit < 1)
          throw new UsageError();
        const topics = (await api.all('/mqtt/retainer/messages'))
          .map((m) => String(m.topic))
          .slice(start - 1, start - 1 + limit);
        io.print(topics, topics);
      } else if (sub === 'clean') {
        need(args, 1, 2);
        if (a === undefined) {
          await api.call('DELETE', '/mqtt/retainer/messages');
        } else {
          for (const m of await api.all(`/mqtt/retainer/messages?topic=${enc(a)}`))
            await api.call('DELETE', `/mqtt/retainer/message/${enc(String(m.topic))}`);
        }
        io.print('ok', { result: 'ok' });
      } else throw new UsageError();
    },
  },
  listeners: {
    usage: [
      'listeners                      # List listeners',
      'listeners stop <Identifier>    # Stop a listener',
      'listeners start <Identifier>   # Start a listener',
      'listeners restart <Identifier> # Restart a listener',
    ],
    async run(api, args, io) {
      const [sub, id] = args;
      if (sub === undefined || sub === 'list') {
        need(args, 0, 1);
        const rows = (await api.call('GET', '/listeners')).body as Row[];
        const lines = rows.flatMap((l) => [
          `${l.id}`,
          ...table({
            listen_on: l.bind,
            acceptors: l.acceptors,
            proxy_protocol: l.proxy_protocol,
            running: l.running,
            current_conn: (l.status as Row).current_connections,
            max_conns: l.max_connections,
          }).map((x) => `  ${x}`),
        ]);
        io.print(lines, rows);
      } else if ((sub === 'start' || sub === 'stop' || sub === 'restart') && id !== undefined) {
        need(args, 2);
        await api.call('POST', `/listeners/${enc(id)}/${sub}`);
        const done = { start: 'Started', stop: 'Stopped', restart: 'Restarted' }[sub];
        io.print(`${done} ${id} listener successfully.`, { result: 'ok' });
      } else throw new UsageError();
    },
  },
  admins: {
    usage: [
      'admins add <Username> <Password> <Description> [<Role>]  # Add a dashboard user',
      'admins passwd <Username> <Password>                      # Reset a dashboard user password',
      'admins del <Username>                                    # Delete a dashboard user',
    ],
    async run(api, args, io) {
      const [sub, user, pwd, desc, role] = args;
      if (sub === 'add' && user !== undefined && pwd !== undefined && desc !== undefined) {
        need(args, 4, 5);
        const r = await api.call('POST', '/users', {
          username: user,
          password: pwd,
          description: desc,
          ...(role ? { role } : {}),
        });
        io.print('ok', r.body);
      } else if (sub === 'passwd' && user !== undefined && pwd !== undefined) {
        need(args, 3);
        await api.call('POST', `/users/${enc(user)}/change_pwd`, { new_pwd: pwd });
        io.print('ok', { result: 'ok' });
      } else if (sub === 'del' && user !== undefined) {
        need(args, 2);
        await api.call('DELETE', `/users/${enc(user)}`);
        io.print('ok', { result: 'ok' });
      } else throw new UsageError();
    },
  },
  // EMQX 3.x `emqx_ctl users` (emqx_auth_username): the users of the built-in database authenticator.
  users: builtInUsers('users', 'Username'),
  // EMQX 4.3+ `emqx_ctl user` and `emqx_ctl clientid` (emqx_auth_mnesia), 3.x `clientid` (emqx_auth_clientid).
  user: builtInUsers('user', 'Username', 'username'),
  username: builtInUsers('username', 'Username', 'username'),
  clientid: builtInUsers('clientid', 'ClientId', 'clientid'),
  conf: {
    usage: [
      'conf show [<Key>]              # Show the config (all as HOCON, a root key or a dotted key)',
      'conf show --unsupported        # List the EMQX keys accepted that have no effect in Hermod',
      'conf reload                    # Reload the config files into the running node',
    ],
    async run(api, args, io) {
      const [sub, key] = args;
      if (sub === 'show') {
        need(args, 1, 2);
        if (key === '--unsupported') {
          const rows = (await api.call('GET', '/configs_unsupported')).body as Array<{ message: string }>;
          io.print(rows.length === 0 ? 'No unsupported keys.' : rows.map((r) => r.message).join('\n'), rows);
          return;
        }
        if (key === undefined) {
          const text = (await api.call('GET', '/configs')).body as string;
          io.print(text.trimEnd(), text);
          return;
        }
        const [root, ...rest] = key.split('.');
        const section = (await api.call('GET', `/configs/${enc(root!)}`)).body;
        const value = at(section, rest);
        if (value === undefined) throw new NodeApiError(`NOT_FOUND: no config key ${key}`, 404, 'NOT_FOUND');
        io.print(
          typeof value === 'object' && value !== null
            ? `${key} ${JSON.stringify(value, null, 2)}`
            : `${key} = ${JSON.stringify(value)}`,
          value,
        );
      } else if (sub === 'reload') {
        need(args, 1);
        const r = (await api.call('POST', '/configs/reload')).body as { changed?: string[] };
        const changed = r.changed ?? [];
        io.print(
          changed.length === 0
            ? 'Config reloaded, nothing changed.'
            : `Config reloaded: ${changed.join(', ')}`,
          r,
        );
      } else throw new UsageError();
    },
  },
  // The `emqx ctl gateway*` commands.
  gateway: {
    usage: [
      'gateway list                        # List gateways and their status',
      'gateway lookup <Name>               # Show a gateway (config and status)',
      'gateway load <Name> <JsonConf>      # Load a gateway with a JSON config',
      'gateway unload <Name>               # Unload a gateway (its config is removed)',
      'gateway stop <Name>                 # Stop (disable) a gateway, keeping its config',
      'gateway start <Name>                # Start (enable) a gateway',
    ],
    async run(api, args, io) {
      const [sub, name, conf] = args;
      if (sub === 'list') {
        need(args, 1);
        const rows = (await api.call('GET', '/gateways')).body as Row[];
        io.print(
          rows.map((g) =>
            g.status === 'unloaded'
              ? `Gateway(name=${g.name}, status=unloaded)`
              : `Gateway(name=${g.name}, status=${g.status}, clients=${g.current_connections}, started_at=${g.started_at ?? 'undefined'})`,
          ),
          rows,
        );
      } else if (sub === 'lookup' && name !== undefined) {
        need(args, 2);
        const g = (await api.call('GET', `/gateways/${enc(name)}`)).body as Row;
        io.print(g.status === 'unloaded' ? `Gateway ${name} is not loaded.` : JSON.stringify(g, null, 2), g);
      } else if (sub === 'load' && name !== undefined && conf !== undefined) {
        need(args, 3);
        let body: unknown;
        try {
          body = JSON.parse(conf);
        } catch {
          throw new UsageError();
        }
        const current = (await api.call('GET', `/gateways/${enc(name)}`)).body as Row;
        if (current.status !== 'unloaded')
          throw new NodeApiError(`BAD_REQUEST: gateway ${name} is already loaded`, 400, 'BAD_REQUEST');
        await api.call('PUT', `/gateways/${enc(name)}`, body);
        io.print('ok', { result: 'ok' });
      } else if ((sub === 'unload' || sub === 'stop' || sub === 'start') && name !== undefined) {
        need(args, 2);
        if (sub === 'unload') await api.call('DELETE', `/gateways/${enc(name)}`);
        else await api.call('PUT', `/gateways/${enc(name)}/enable/${sub === 'start'}`);
        io.print('ok', { result: 'ok' });
      } else throw new UsageError();
    },
  },
  'gateway-registry': {
    usage: ['gateway-registry list              # List the gateway modules this node has'],
    async run(api, args, io) {
      if (args[0] !== 'list') throw new UsageError();
      need(args, 1);
      const rows = (await api.call('GET', '/gateway_registry')).body as Row[];
      io.print(
        rows.map((r) => `Registered Name: ${r.name}, Protocol: ${r.protocol}, Descr: ${r.description}`),
        rows,
      );
    },
  },
  'gateway-clients': {
    usage: [
      'gateway-clients list <Name>                 # List the clients of a gateway',
      'gateway-clients lookup <Name> <ClientId>    # Show a client of a gateway',
      'gateway-clients kick <Name> <ClientId>      # Kick out a client of a gateway',
    ],
    async run(api, args, io) {
      const [sub, name, id] = args;
      const line = (c: Row) =>
        `Client(${c.clientid}, username=${c.username ?? 'undefined'}, peername=${c.ip_address}:${c.port}, clean_start=${c.clean_start}, keepalive=${c.keepalive}, subscriptions=${c.subscriptions_cnt}, delivered_msgs=${c.send_msg}, connected=${c.connected}, created_at=${c.created_at}, connected_at=${c.connected_at})`;
      if (sub === 'list' && name !== undefined) {
        need(args, 2);
        const rows = await api.all(`/gateways/${enc(name)}/clients`);
        io.print(rows.length === 0 ? 'No clients.' : rows.map(line), rows);
      } else if (sub === 'lookup' && name !== undefined && id !== undefined) {
        need(args, 3);
        const c = (await api.call('GET', `/gateways/${enc(name)}/clients/${enc(id)}`)).body as Row;
        io.print(line(c), c);
      } else if (sub === 'kick' && name !== undefined && id !== undefined) {
        need(args, 3);
        await api.call('DELETE', `/gateways/${enc(name)}/clients/${enc(id)}`);
        io.print('ok', { result: 'ok' });
      } else throw new UsageError();
    },
  },
  'gateway-metrics': {
    usage: ['gateway-metrics <Name>              # Show the counters of a gateway'],
    async run(api, args, io) {
      need(args, 1);
      const m = (await api.call('GET', `/gateways/${enc(args[0]!)}/metrics`)).body as Row;
      io.print(table(m), m);
    },
  },
  // Access control: EMQX `emqx ctl authz cache-clean`.
  authz: {
    usage: [
      'authz cache-clean all              # Clear the authorization cache of every client',
      'authz cache-clean node <Node>      # Clear the authorization cache of every client on a node',
      'authz cache-clean <ClientId>       # Clear the authorization cache of one client',
    ],
    async run(api, args, io) {
      const [sub, a, b] = args;
      if (sub !== 'cache-clean' || a === undefined) throw new UsageError();
      if (a === 'all' || a === 'node') {
        need(args, a === 'node' ? 3 : 2);
        // The cache is cleared on the node ctl talks to: `node <Node>` is `all` for it, an error for any other.
        if (a === 'node' && b !== api.endpoint.node)
          throw new NodeApiError(`Node ${b} not found`, 404, 'NOT_FOUND');
        await api.call('DELETE', '/authorization/cache');
        io.print('Authorization cache drain started on all nodes', { result: 'ok' });
      } else {
        need(args, 2);
        await api.call('DELETE', `/clients/${enc(a)}/authorization/cache`);
        io.print(`Drain ${a} authz cache successfully`, { result: 'ok' });
      }
    },
  },
  banned: {
    usage: [
      'banned list                                                    # List bans',
      'banned add <As> <Who> [--reason <R>] [--until <Time>] [--by <B>] # Ban a clientid|username|peerhost|clientid_re|username_re|peerhost_net',
      'banned del <As> <Who>                                          # Remove a ban',
    ],
    async run(api, args, io) {
      const [sub, as, who, ...rest] = args;
      if (sub === 'list') {
        need(args, 1);
        const rows = await api.all('/banned');
        io.print(
          rows.length === 0
            ? 'No bans.'
            : rows.map(
                (b) =>
                  `${b.as} ${b.who} by=${b.by} reason=${JSON.stringify(b.reason)} at=${b.at} until=${b.until}`,
              ),
          rows,
        );
      } else if (sub === 'add' && as !== undefined && who !== undefined) {
        const body: Row = { as, who };
        for (let i = 0; i < rest.length; i += 2) {
          const opt = rest[i];
          const v = rest[i + 1];
          if (v === undefined || !['--reason', '--until', '--by'].includes(opt!)) throw new UsageError();
          body[opt!.slice(2)] = opt === '--until' && /^\d+$/.test(v) ? Number(v) : v;
        }
        const r = await api.call('POST', '/banned', body);
        io.print('ok', r.body);
      } else if (sub === 'del' && as !== undefined && who !== undefined) {
        need(args, 3);
        await api.call('DELETE', `/banned/${enc(as)}/${enc(who)}`);
        io.print('ok', { result: 'ok' });
      } else throw new UsageError();
    },
  },
};

COMMANDS.plugins = {
  usage: PLUGINS_USAGE,
  async run(api, args, io) {
    if (!(await pluginsCommand(api, args, io.print))) throw new UsageError();
  },
};

const OPTIONS_USAGE = `Options:
  --data-dir <dir>   data dir of the node (default: HERMOD_DATA_DIR, node.data_dir of the config, "data")
  --config <file>    config file to read node.data_dir from (default: HERMOD_CONFIG)
  --json             print the API's JSON answer instead of text
`;

/** The full usage, or one command's. */
export function ctlUsage(command?: string): string {
  const cmds = command !== undefined && COMMANDS[command] !== undefined ? [command] : Object.keys(COMMANDS);
  const lines = cmds.flatMap((c) => COMMANDS[c]!.usage.map((u) => `  hermod ctl ${u}`));
  return `Usage: hermod ctl [options] <command> [args]\n\n${lines.join('\n')}\n\n${OPTIONS_USAGE}`;
}

/** Splits global options from the command words. */
function parseArgs(argv: string[]): { locate: Locate; json: boolean; words: string[] } | undefined {
  const locate: Locate = {};
  let json = false;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a === '--data-dir' || a === '--config') {
      const v = argv[++i];
      if (v === undefined) return undefined;
      if (a === '--data-dir') locate.dataDir = v;
      else locate.config = v;
    } else words.push(a);
  }
  return { locate, json, words };
}

/** A command a running plugin added (`hermod ctl <command> …`): its exit code, undefined when there is none. */
async function runPluginCommand(
  parsed: { locate: Locate; json: boolean },
  name: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<number | undefined> {
  try {
    const api = new NodeApi(() => locateDataDir(parsed.locate, env));
    return await pluginCtlCommand(api, name, args, (text, value) =>
      process.stdout.write(
        parsed.json
          ? `${JSON.stringify(value, null, 2)}\n`
          : `${Array.isArray(text) ? text.join('\n') : text}\n`,
      ),
    );
  } catch {
    return undefined;
  }
}

/** Runs `hermod ctl` with its arguments; resolves to the exit code. */
export async function ctl(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed === undefined) {
    process.stderr.write(ctlUsage());
    return 1;
  }
  const [name, ...args] = parsed.words;
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(ctlUsage());
    return 0;
  }
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined && name !== undefined) {
    const code = await runPluginCommand(parsed, name, args, env);
    if (code !== undefined) return code;
  }
  if (command === undefined) {
    if (name !== undefined) process.stderr.write(`hermod ctl: unknown command ${name}\n\n`);
    process.stderr.write(ctlUsage());
    return 1;
  }
  const io: Io = {
    json: parsed.json,
    print(text, value) {
      if (parsed.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else process.stdout.write(`${Array.isArray(text) ? text.join('\n') : text}\n`);
    },
  };
  try {
    const api = new NodeApi(() => locateDataDir(parsed.locate, env));
    await command.run(api, args, io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(ctlUsage(name));
      return 1;
    }
    if (parsed.json && err instanceof NodeApiError && err.code !== '')
      process.stdout.write(`${JSON.stringify({ code: err.code, message: err.message }, null, 2)}\n`);
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}
