/**
 * Gateway authenticators live in access control's chains: the gateway's `authentication` is the chain
 * `<protocol>:global` (e.g. 'stomp:global', 'mqtt-sn:global'), a listener's is the chain named by its id
 * ('stomp:tcp:default'). Access control picks the listener chain when it exists, else the gateway's, and
 * lets everyone in when neither has an enabled authenticator. This keeps those chains in line with the config.
 */
import type { ChainRegistry, GatewayHost } from './env.js';
import { listenerEntries } from './gateway.js';
import type { GatewayCommonConfig, GatewayDescriptor } from './types.js';

export type { ChainRegistry };

/** Access control's chain registry, when the host has one. */
export function chainRegistry(host: Pick<GatewayHost, 'authn'>): ChainRegistry | undefined {
  const authn = host.authn;
  return typeof authn?.setChain === 'function' ? authn : undefined;
}

/** The chain of a gateway's own authenticator. */
export function gatewayChain(m: GatewayDescriptor): string {
  return `${m.protocol}:global`;
}

/** Chain name → authenticator config wanted by one gateway config (none when unloaded). */
export function wantedChains(
  m: GatewayDescriptor,
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

  constructor(private readonly host: Pick<GatewayHost, 'authn'>) {}

  /** Creates, replaces or removes a gateway's chains (cfg undefined = unloaded). Rejects on a bad authenticator. */
  async sync(m: GatewayDescriptor, cfg: GatewayCommonConfig | undefined): Promise<void> {
    const wanted = wantedChains(m, cfg);
    const mine = this.owned.get(m.name) ?? new Map<string, string>();
    this.owned.set(m.name, mine);
    const reg = chainRegistry(this.host);
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
