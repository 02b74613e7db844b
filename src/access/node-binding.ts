/**
 * Wires access control into a node: registers the built-in providers, loads `authentication`,
 * listener chains and `authorization` from the config, applies authorization settings to AccessControl
 * (which new connections of every protocol read), and follows runtime config changes.
 */
import type { Broker } from '../broker/broker.js';
import type { HermodConfig } from '../config/schema/index.js';
import type { ListenerConfig, ListenerType } from '../config/schema/listeners.js';
import type { ConfigService } from '../config/service.js';
import type { Db } from '../store/db.js';
import type { AccessControl } from './access-control.js';
import { BUILT_IN_AUTHN_PROVIDERS } from './authn/providers.js';
import { type AuthnService, globalChain } from './authn/service.js';
import { BUILT_IN_AUTHZ_PROVIDERS } from './authz/providers.js';
import type { AuthzService, CachedClient } from './authz/service.js';

/** What access control needs of the node it runs in. */
export interface AccessHost {
  readonly access: AccessControl;
  readonly authn: AuthnService;
  readonly authz: AuthzService;
  readonly configService: ConfigService;
  /** The node store; open by the time access control starts. */
  readonly db: Db | undefined;
}

/** Chain name of the global MQTT chain. */
export const MQTT_GLOBAL_CHAIN = globalChain('mqtt');

type AuthorizationConfig = HermodConfig['authorization'];

const registered = new WeakSet<object>();
const unbind = new WeakMap<AccessHost, Array<() => void>>();

/** Live connections of every protocol, for clearing authorization caches. */
export function liveClients(broker: Broker): () => Iterable<CachedClient> {
  return function* () {
    for (const r of broker.registry.records()) if (r.channel !== undefined) yield r.channel as CachedClient;
  };
}

/** Listener id → its own authenticator configs (only listeners that have some). */
function listenerChains(listeners: HermodConfig['listeners']): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const [type, byName] of Object.entries(listeners) as Array<
    [ListenerType, Record<string, ListenerConfig>]
  >) {
    for (const [name, cfg] of Object.entries(byName)) {
      if (cfg.authentication.length > 0) out.set(`${type}:${name}`, cfg.authentication);
    }
  }
  return out;
}

/** Applies no_match / deny_action and the cache settings for new connections to AccessControl. */
function applySettings(node: AccessHost, a: AuthorizationConfig): void {
  node.access.authz = { noMatch: a.no_match, denyAction: a.deny_action };
  node.access.authzCache = {
    enable: a.cache.enable,
    maxSize: a.cache.max_size,
    ttl: a.cache.ttl,
    excludes: a.cache.excludes,
  };
}

/** Starts node.authn and node.authz from the node's config (the store must be open). */
export async function startAccess(node: AccessHost): Promise<void> {
  const db = node.db;
  if (db === undefined) throw new Error('startAccess: the node store is not open');
  if (!registered.has(node.authn)) {
    for (const p of BUILT_IN_AUTHN_PROVIDERS) node.authn.registerProvider(p);
    for (const p of BUILT_IN_AUTHZ_PROVIDERS) node.authz.registerProvider(p);
    registered.add(node.authn);
  }
  node.authn.start(db);
  node.authz.start(db, node.access);
  const cfg = node.configService.config;
  applySettings(node, cfg.authorization);
  await node.authn.setChain(MQTT_GLOBAL_CHAIN, cfg.authentication);
  for (const [id, list] of listenerChains(cfg.listeners)) await node.authn.setChain(id, list);
  await node.authz.setSources(cfg.authorization.sources);

  const cs = node.configService;
  unbind.set(node, [
    cs.onChange('authentication', (next) => node.authn.setChain(MQTT_GLOBAL_CHAIN, next)),
    cs.onChange('listeners', async (next, prev) => {
      const before = listenerChains(prev);
      const after = listenerChains(next);
      for (const [id, list] of after) await node.authn.setChain(id, list);
      for (const id of before.keys()) if (!after.has(id)) await node.authn.deleteChain(id);
    }),
    cs.onChange('authorization', async (next) => {
      await node.authz.setSources(next.sources);
      applySettings(node, next);
    }),
  ]);
}

/** Stops following config changes and closes every authenticator and source. */
export async function stopAccess(node: AccessHost): Promise<void> {
  for (const off of unbind.get(node) ?? []) off();
  unbind.delete(node);
  await node.authn.stop();
  await node.authz.stop();
}
