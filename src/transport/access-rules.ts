/**
 * Listener access rules (EMQX `access_rules`): "allow|deny <ip>|<cidr>|all", first match wins, no match
 * allows. Checked once per accepted connection.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

interface Rule {
  allow: boolean;
  list: BlockList | undefined; // undefined = all
}

export class AccessRules {
  private readonly rules: Rule[];

  /** Throws on a malformed rule, naming it. */
  constructor(rules: string[]) {
    this.rules = rules.map(parseRule);
  }

  allows(ip: string): boolean {
    // The address is classified only when a rule needs it: the default "allow all" answers without the
    // IPv6 regex, which was ~0.8 % of the broker's CPU in a CONNECT flood (2026-12-04).
    let addr: string | undefined;
    let family: 'ipv4' | 'ipv6' = 'ipv4';
    for (const r of this.rules) {
      if (r.list === undefined) return r.allow;
      if (addr === undefined) {
        const mapped = ip.startsWith('::ffff:');
        family = isIPv6(ip) && !mapped ? 'ipv6' : 'ipv4';
        addr = mapped ? ip.slice(7) : ip;
      }
      if (r.list.check(addr, family)) return r.allow;
    }
    return true;
  }
}

function parseRule(text: string): Rule {
  const m = /^\s*(allow|deny)\s+(\S+)\s*$/.exec(text);
  if (!m) throw new Error(`bad access rule "${text}": expected "allow|deny <ip>|<cidr>|all"`);
  const allow = m[1] === 'allow';
  const target = m[2]!;
  if (target === 'all') return { allow, list: undefined };
  const list = new BlockList();
  const [addr, bits] = target.split('/');
  const family = isIPv4(addr!) ? 'ipv4' : isIPv6(addr!) ? 'ipv6' : undefined;
  if (family === undefined) throw new Error(`bad access rule "${text}": "${addr}" is not an IP address`);
  if (bits === undefined) list.addAddress(addr!, family);
  else {
    const prefix = Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) {
      throw new Error(`bad access rule "${text}": bad prefix length`);
    }
    list.addSubnet(addr!, prefix, family);
  }
  return { allow, list };
}
