/**
 * Gateway authenticators live in access control's chains: the gateway's `authentication` is the chain
 * `<protocol>:global` (e.g. 'stomp:global', 'mqtt-sn:global'), a listener's is the chain named by its id
 * ('stomp:tcp:default'). Access control picks the listener chain when it exists, else the gateway's, and
 * lets everyone in when neither has an enabled authenticator. This keeps those chains in line with the config.
 */
import type { UserStore } from '../access/authn/types.js';
import type { HermodNode } from '../node.js';
import { listenerEntries } from './gateway.js';
import type { GatewayCommonConfig, GatewayModule } from './types.js';

/** The part of access control's chain registry gateways use. */
export interface ChainRegistry {
  setChain(name: string, configs: readonly unknown[]): Promise<void>;
  chain(name: string): Array<{ id: string; enable: boolean; config: Record<string, unknown> }> | undefined;
  users(chain: string, id: string): UserStore | undefined;
}

/** Access control's chain registry, when the node has one. */
export function chainRegistry(node: object): ChainRegistry | undefined {
  const authn = (node as unknown as { authn?: Partial<ChainRegistry> }).authn;
  return typeof authn?.setChain === 'function' ? (authn as ChainRegistry) : undefined;
}

/** The chain of a gateway's own authenticator. */
export function gatewayChain(m: GatewayModule): string {
  return `${m.protocol}:global`;
}

/** Chain name → authenticator config wanted by one gateway config (none when unloaded). */
export function wantedChains(
  m: GatewayModule,
  cfg: GatewayCommonConfig | undefined,
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  if (cfg === undefined) return out;
  if (cfg.authentication !== undefined) out.set(gatewayChain(m), cfg.authentication);
  for (const [type, name, l] of listenerEntries(cfg)) {
    if (l.authentication !== undefined) out.set(`${m.name}:${type}:${name}`, l.authentication);
  }
  return out;
}

/** Keeps each gateway's chains in line with its config, remembering what it set. */
export class GatewayChains {
  /** gateway name → chain → fingerprint of the config it was set with. */
  private readonly owned = new Map<string, Map<string, string>>();

  constructor(private readonly node: HermodNode) {}

  /** Creates, replaces or removes a gateway's chains (cfg undefined = unloaded). Rejects on a bad authenticator. */
  async sync(m: GatewayModule, cfg: GatewayCommonConfig | undefined): Promise<void> {
    const wanted = wantedChains(m, cfg);
    const mine = this.owned.get(m.name) ?? new Map<string, string>();
    this.owned.set(m.name, mine);
    const reg = chainRegistry(this.node);
    if (reg === undefined) {
      // Fail closed: an authenticator in the config that nothing enforces would let everyone in.
      if (wanted.size > 0)
        throw new Error(
          'gateway authentication needs access control (this node has no authentication chains)',
        );
      return;
    }
    for (const [chain, conf] of wanted) {
      const fp = JSON.stringify(conf);
      if (mine.get(chain) === fp) continue;
      await reg.setChain(chain, [conf]);
      mine.set(chain, fp);
    }
    for (const chain of [...mine.keys()]) {
      if (wanted.has(chain)) continue;
      await reg.setChain(chain, []);
      mine.delete(chain);
    }
  }
}
