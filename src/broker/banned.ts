/**
 * Banned clients (EMQX `emqx_banned`): bans by client id, username or peer address, exact or by regular
 * expression / CIDR, each with an optional expiry. Kept in the embedded store so bans survive restarts, and
 * consulted by every channel at CONNECT (the MQTT channel refuses with 0x8A, or return code 5 for 3.x).
 */
import { BlockList, isIP } from 'node:net';
import type { Db } from '../store/db.js';
import type { ClientInfo } from './types.js';

/** What a ban is on, as EMQX names it. */
export const BAN_KINDS = [
  'clientid',
  'username',
  'peerhost',
  'clientid_re',
  'username_re',
  'peerhost_net',
] as const;
export type BanKind = (typeof BAN_KINDS)[number];

export interface Ban {
  as: BanKind;
  who: string;
  by: string;
  reason: string;
  /** Epoch ms the ban was created. */
  at: number;
  /** Epoch ms the ban ends; undefined = never. */
  until: number | undefined;
}

/** A ban that cannot be created, with the reason. */
export class BanError extends Error {
  constructor(
    readonly code: 'BAD_REQUEST' | 'ALREADY_EXISTS',
    message: string,
  ) {
    super(message);
  }
}

/** Decides whether a client is banned; every channel asks it at login. */
export interface BanChecker {
  isBanned(client: ClientInfo): boolean;
}

const SCOPE = 'banned';

interface Compiled {
  ban: Ban;
  test: (client: ClientInfo) => boolean;
}

export class BannedStore implements BanChecker {
  private readonly bans = new Map<string, Compiled>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Db | undefined) {
    if (db !== undefined) {
      const rows = db.prepare('SELECT value FROM kv WHERE scope = ?').all(SCOPE) as Array<{ value: string }>;
      for (const r of rows) {
        const ban = JSON.parse(r.value) as Ban;
        this.bans.set(keyOf(ban.as, ban.who), compile(ban));
      }
    }
    // Expired bans are also ignored at lookup; the sweep only keeps the table small.
    this.sweepTimer = setInterval(() => this.purgeExpired(), 60_000);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** BanChecker: true when any live ban matches the client. */
  isBanned(client: ClientInfo): boolean {
    if (this.bans.size === 0) return false;
    const now = Date.now();
    for (const c of this.bans.values()) {
      if (c.ban.until !== undefined && c.ban.until <= now) continue;
      if (c.test(client)) return true;
    }
    return false;
  }

  /** Every live ban, oldest first. */
  list(): Ban[] {
    this.purgeExpired();
    return [...this.bans.values()].map((c) => c.ban).sort((a, b) => a.at - b.at);
  }

  /** One ban by kind and subject. */
  get(as: BanKind, who: string): Ban | undefined {
    const c = this.bans.get(keyOf(as, normalizeWho(as, who)));
    if (c === undefined || (c.ban.until !== undefined && c.ban.until <= Date.now())) return undefined;
    return c.ban;
  }

  /** Validates and stores a ban; throws BanError when it is invalid, expired or already there. */
  create(input: { as: string; who: string; by?: string; reason?: string; at?: number; until?: number }): Ban {
    if (!(BAN_KINDS as readonly string[]).includes(input.as))
      throw new BanError('BAD_REQUEST', `as must be one of ${BAN_KINDS.join(', ')}`);
    const as = input.as as BanKind;
    if (input.who.length === 0) throw new BanError('BAD_REQUEST', 'who must not be empty');
    const who = normalizeWho(as, input.who);
    validateWho(as, who);
    const now = Date.now();
    const ban: Ban = {
      as,
      who,
      by: input.by ?? 'mgmt_api',
      reason: input.reason ?? '',
      at: input.at ?? now,
      until: input.until,
    };
    if (ban.until !== undefined && ban.until <= now)
      throw new BanError('BAD_REQUEST', `Cannot create expired banned, ${as}:${who}`);
    if (this.get(as, who) !== undefined)
      throw new BanError('ALREADY_EXISTS', `${as}:${who} is already banned`);
    const key = keyOf(as, who);
    this.bans.set(key, compile(ban));
    this.db
      ?.prepare('INSERT OR REPLACE INTO kv (scope, key, value) VALUES (?, ?, ?)')
      .run(SCOPE, key, JSON.stringify(ban));
    return ban;
  }

  /** Removes one ban; false when there was none. */
  delete(as: BanKind, who: string): boolean {
    const key = keyOf(as, normalizeWho(as, who));
    const existed = this.get(as, who) !== undefined;
    this.bans.delete(key);
    this.db?.prepare('DELETE FROM kv WHERE scope = ? AND key = ?').run(SCOPE, key);
    return existed;
  }

  /** Removes every ban. */
  clear(): void {
    this.bans.clear();
    this.db?.prepare('DELETE FROM kv WHERE scope = ?').run(SCOPE);
  }

  private purgeExpired(): void {
    const now = Date.now();
    for (const [key, c] of this.bans) {
      if (c.ban.until !== undefined && c.ban.until <= now) {
        this.bans.delete(key);
        this.db?.prepare('DELETE FROM kv WHERE scope = ? AND key = ?').run(SCOPE, key);
      }
    }
  }
}

function keyOf(as: BanKind, who: string): string {
  return `${as}:${who}`;
}

/** IPv4-mapped IPv6 addresses ('::ffff:10.0.0.1') are the IPv4 address as far as a ban is concerned. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

function normalizeWho(as: BanKind, who: string): string {
  return as === 'peerhost' ? plainIp(who) : who;
}

function validateWho(as: BanKind, who: string): void {
  if (as === 'peerhost' && isIP(who) === 0) throw new BanError('BAD_REQUEST', `invalid peerhost: ${who}`);
  if (as === 'peerhost_net' && parseCidr(who) === undefined)
    throw new BanError('BAD_REQUEST', `invalid peerhost_net (expected a CIDR such as 10.0.0.0/8): ${who}`);
  if (as === 'clientid_re' || as === 'username_re') {
    try {
      new RegExp(who);
    } catch (err) {
      throw new BanError('BAD_REQUEST', `invalid regular expression ${who}: ${(err as Error).message}`);
    }
  }
}

function parseCidr(s: string): { ip: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [ip, bits] = s.split('/');
  const v = isIP(ip ?? '');
  const prefix = Number(bits);
  if (v === 0 || bits === undefined || !Number.isInteger(prefix)) return undefined;
  if (prefix < 0 || prefix > (v === 4 ? 32 : 128)) return undefined;
  return { ip: ip!, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

function compile(ban: Ban): Compiled {
  const who = ban.who;
  switch (ban.as) {
    case 'clientid':
      return { ban, test: (c) => c.clientid === who };
    case 'username':
      return { ban, test: (c) => c.username === who };
    case 'peerhost':
      return { ban, test: (c) => plainIp(c.peerhost) === who };
    case 'clientid_re': {
      const re = new RegExp(who);
      return { ban, test: (c) => re.test(c.clientid) };
    }
    case 'username_re': {
      const re = new RegExp(who);
      return { ban, test: (c) => c.username !== undefined && re.test(c.username) };
    }
    case 'peerhost_net': {
      const net = parseCidr(who)!;
      const list = new BlockList();
      list.addSubnet(net.ip, net.prefix, net.family);
      return {
        ban,
        test: (c) => {
          const ip = plainIp(c.peerhost);
          const v = isIP(ip);
          return v !== 0 && list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
        },
      };
    }
  }
}
