/**
 * Flapping detection (EMQX `emqx_flapping`): a client id that connects and drops, or fails to log in,
 * `max_count` times within `window_time` is banned by client id for `ban_time`, through the banned table
 * every channel (MQTT and gateways) consults at CONNECT. Client ids are cheap to change, so failed logins
 * (wrong credentials) are also counted per source address, with the same thresholds, and an address that
 * keeps guessing is banned as a peerhost. Normal disconnects never count against an address, so clients
 * sharing a NAT address are only affected when they keep failing to log in.
 *
 * It only listens on hooks (client.connack with a failure, client.disconnected), and registers them only
 * while enabled, so a node without it pays nothing on the connect path.
 */
import { logger } from '../log.js';
import type { BanKind, BannedStore } from './banned.js';
import { HookPriority, type Hooks } from './hooks.js';
import type { ConnInfo } from './types.js';

export interface FlappingSettings {
  enable: boolean;
  /** ms */
  window_time: number;
  max_count: number;
  /** ms */
  ban_time: number;
}

/** CONNACK reasons that mean "wrong credentials" (MQTT reason names and gateway login reasons). */
const AUTH_FAILURES = new Set(['bad_username_or_password', 'not_authorized', 'bad_authentication_method']);
/** Who bans, as the banned list shows it (EMQX's wording). */
const BANNED_BY = 'flapping detector';
/** Above this many tracked keys, stale windows are swept (bounds memory under a spray of client ids). */
const SWEEP_ABOVE = 10_000;

interface Window {
  count: number;
  startedAt: number;
}

/** Counts events per key in fixed windows; says when a key reaches the limit. */
class EventCounter {
  private readonly windows = new Map<string, Window>();

  /** Adds one event; true when this event reaches `max` within `windowMs` (the window then restarts). */
  hit(key: string, now: number, windowMs: number, max: number): boolean {
    if (this.windows.size > SWEEP_ABOVE) this.sweep(now, windowMs);
    let w = this.windows.get(key);
    if (w === undefined || now - w.startedAt >= windowMs) {
      w = { count: 0, startedAt: now };
      this.windows.set(key, w);
    }
    w.count++;
    if (w.count < max) return false;
    this.windows.delete(key);
    return true;
  }

  clear(): void {
    this.windows.clear();
  }

  private sweep(now: number, windowMs: number): void {
    for (const [key, w] of this.windows) if (now - w.startedAt >= windowMs) this.windows.delete(key);
  }
}

export class FlappingDetector {
  private readonly byClientId = new EventCounter();
  private readonly bySource = new EventCounter();
  private off: (() => void) | undefined;
  private settings: FlappingSettings;

  constructor(
    private readonly hooks: Hooks,
    private readonly banned: BannedStore,
    settings: FlappingSettings,
  ) {
    this.settings = settings;
    this.apply(settings);
  }

  /** Takes new settings (a config change): hooks are registered only while enabled. */
  apply(settings: FlappingSettings): void {
    this.settings = settings;
    if (settings.enable && this.off === undefined) this.register();
    if (!settings.enable && this.off !== undefined) {
      this.off();
      this.off = undefined;
      this.byClientId.clear();
      this.bySource.clear();
    }
  }

  stop(): void {
    this.apply({ ...this.settings, enable: false });
  }

  private register(): void {
    const offConnack = this.hooks.add(
      'client.connack',
      (connInfo, reason) => {
        if (reason !== 'success') this.onRefused(connInfo, reason);
        return undefined;
      },
      HookPriority.LOWEST,
      'flapping',
    );
    const offDisconnected = this.hooks.add(
      'client.disconnected',
      (_ci, _reason, connInfo) => {
        this.count('clientid', connInfo.clientid, connInfo);
        return undefined;
      },
      HookPriority.LOWEST,
      'flapping',
    );
    this.off = () => {
      offConnack();
      offDisconnected();
    };
  }

  private onRefused(connInfo: ConnInfo, reason: string): void {
    // A banned client retrying must not renew its own ban.
    if (reason === 'banned') return;
    this.count('clientid', connInfo.clientid, connInfo);
    if (AUTH_FAILURES.has(reason)) this.count('peerhost', connInfo.peerhost, connInfo);
  }

  private count(as: BanKind, who: string, connInfo: ConnInfo): void {
    if (who === '') return;
    const s = this.settings;
    const counter = as === 'peerhost' ? this.bySource : this.byClientId;
    if (!counter.hit(who, Date.now(), s.window_time, s.max_count)) return;
    this.ban(as, who, connInfo);
  }

  private ban(as: BanKind, who: string, connInfo: ConnInfo): void {
    const s = this.settings;
    const reason =
      as === 'peerhost' ? 'repeated authentication failures from this address' : 'flapping is detected';
    try {
      this.banned.create({ as, who, by: BANNED_BY, reason, until: Date.now() + s.ban_time });
    } catch {
      // Already banned (by an operator or an earlier detection): nothing to add.
      return;
    }
    logger.warn(
      {
        [as]: who,
        clientid: connInfo.clientid,
        peerhost: connInfo.peerhost,
        proto_name: connInfo.proto_name,
        count: s.max_count,
        window_time_ms: s.window_time,
        ban_time_ms: s.ban_time,
      },
      as === 'peerhost'
        ? 'flapping detected: repeated failed logins from one address, address banned'
        : 'flapping detected: client id banned',
    );
  }
}
