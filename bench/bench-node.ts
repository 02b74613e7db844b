import { resolveConfig } from '../src/config/resolve.js';
import { HermodNode } from '../src/node.js';

/**
 * A started Hermod node for a Hermod-only scenario: MQTT over tcp on a free loopback port, no ws listener, no
 * $SYS publishing and no dashboard, so only the scenario's own work shows in its figures. `extra` adds the
 * scenario's sections (`gateway`, `psk_authentication`, …) and replaces any of these top-level ones.
 */
export async function startBenchNode(extra: Record<string, unknown> = {}): Promise<HermodNode> {
  const resolved = resolveConfig({
    node: { name: 'bench@127.0.0.1' },
    listeners: { tcp: { default: { bind: '127.0.0.1:0' } }, ws: { default: { enable: false } } },
    sys_topics: { sys_msg_interval: 'disabled', sys_heartbeat_interval: 'disabled' },
    dashboard: { listeners: { http: { enable: false } } },
    ...extra,
  });
  if (!resolved.ok) throw new Error(`bench config: ${JSON.stringify(resolved.errors)}`);
  const node = new HermodNode(resolved.value, { store: ':memory:' });
  await node.start();
  return node;
}
