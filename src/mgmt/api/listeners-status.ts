/**
 * `GET /listeners_status`: the live status of every MQTT listener grouped by type and enable flag, with
 * the per-node breakdown EMQX gives (one node here).
 */
import type { ListenerType } from '../../config/schema/listeners.js';
import type { Api, MgmtPlane } from '../types.js';

const TYPES: ListenerType[] = ['tcp', 'ssl', 'ws', 'wss'];

interface Status {
  running: boolean;
  max_connections: number | 'infinity';
  current_connections: number;
}

interface Group {
  type: ListenerType;
  enable: boolean;
  ids: string[];
  status: Status;
  node_status: Array<{ node: string; status: Status }>;
}

function addMax(a: Status['max_connections'], b: Status['max_connections']): Status['max_connections'] {
  return a === 'infinity' || b === 'infinity' ? 'infinity' : a + b;
}

export function listenersStatusArea(app: Api, ctx: MgmtPlane): void {
  app.get(
    '/listeners_status',
    { schema: { tags: ['Listeners'], summary: 'Live status of the listeners, grouped by type' } },
    async () => {
      const groups = new Map<string, Group>();
      for (const type of TYPES) {
        for (const [name, cfg] of Object.entries(ctx.node.config.listeners[type])) {
          const id = `${type}:${name}`;
          const l = ctx.node.listeners.get(id);
          const running = l?.running ?? false;
          const max: Status['max_connections'] = Number.isFinite(cfg.max_connections)
            ? cfg.max_connections
            : 'infinity';
          const current = running ? (l?.currentConnections ?? 0) : 0;
          const key = `${type}/${cfg.enable}`;
          const g = groups.get(key);
          if (g === undefined) {
            const status = { running, max_connections: max, current_connections: current };
            groups.set(key, {
              type,
              enable: cfg.enable,
              ids: [id],
              status,
              node_status: [{ node: ctx.node.name, status: { ...status } }],
            });
            continue;
          }
          g.ids.push(id);
          g.status = {
            running: g.status.running && running,
            max_connections: addMax(g.status.max_connections, max),
            current_connections: g.status.current_connections + current,
          };
          g.node_status = [{ node: ctx.node.name, status: { ...g.status } }];
        }
      }
      return [...groups.values()].map((g) => ({ ...g, ids: g.ids.sort() }));
    },
  );
}
