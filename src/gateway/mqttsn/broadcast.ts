/**
 * ADVERTISE broadcasting (EMQX `emqx_mqttsn_broadcast`): when `broadcast` is on, the gateway announces
 * itself with ADVERTISE(gateway_id, duration) to the broadcast address of every IPv4 interface, port
 * 1884, every 15 minutes. Runs as the gateway's service and follows config updates.
 */
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../log.js';
import { datagramRole } from '../../transport/datagram-role.js';
import type { GatewayCommonConfig, GatewayService } from '../types.js';
import { serializeMessage } from './frame.js';
import type { MqttSnConfig } from './schema.js';

/** EMQX's interval and destination port. */
export const ADVERTISE_INTERVAL_MS = 15 * 60 * 1000;
export const ADVERTISE_PORT = 1884;

/** Where an ADVERTISE goes. */
export interface AdvertiseTarget {
  host: string;
  port: number;
}

/** The broadcast address of every IPv4 interface (address | ~netmask). */
export function broadcastTargets(port = ADVERTISE_PORT): AdvertiseTarget[] {
  const out: AdvertiseTarget[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      const ip = a.address.split('.').map(Number);
      const mask = a.netmask.split('.').map(Number);
      out.push({ host: ip.map((b, i) => (b | (~mask[i]! & 0xff)) & 0xff).join('.'), port });
    }
  }
  return out;
}

/** The ADVERTISE datagram. */
export function advertiseFrame(gwId: number, intervalMs: number): Buffer {
  // [Q] EMQX 5.8.9 puts the interval in ms truncated to 16 bits into Duration; the spec (§5.4.1) and EMQX's
  // docs say seconds until the next ADVERTISE, which Hermod sends (900 for 15 min; test mqttsn-broadcast).
  const duration = Math.min(0xffff, Math.round(intervalMs / 1000));
  return serializeMessage({ type: 'ADVERTISE', gwId, duration });
}

export interface AdvertiserOptions {
  config: MqttSnConfig;
  log: Logger;
  /** Destinations (default: every interface's broadcast address, port 1884). */
  targets?: () => AdvertiseTarget[];
  intervalMs?: number;
}

/** The broadcaster: idle while `broadcast` is off, sending at once and then every interval while on. */
export class Advertiser implements GatewayService {
  private sock: dgram.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private config: MqttSnConfig;
  private readonly intervalMs: number;
  private readonly targets: () => AdvertiseTarget[];

  constructor(private readonly opts: AdvertiserOptions) {
    this.config = opts.config;
    this.intervalMs = opts.intervalMs ?? ADVERTISE_INTERVAL_MS;
    this.targets = opts.targets ?? (() => broadcastTargets());
    this.apply();
  }

  update(config: GatewayCommonConfig): void {
    this.config = config as MqttSnConfig;
    this.apply();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const sock = this.sock;
    this.sock = undefined;
    sock?.close();
  }

  private apply(): void {
    // Under --workers only the worker that owns the UDP listeners advertises the gateway.
    if (!this.config.broadcast || datagramRole() === 'skip') {
      this.stop();
      return;
    }
    if (this.sock !== undefined) return;
    const sock = dgram.createSocket('udp4');
    // Unreachable broadcast domains must not crash the node; they are only logged.
    sock.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqttsn: ADVERTISE socket error'));
    sock.bind(0, () => {
      if (this.sock !== sock) return;
      sock.setBroadcast(true);
      this.send();
    });
    this.sock = sock;
    this.timer = setInterval(() => this.send(), this.intervalMs);
    this.timer.unref();
  }

  private send(): void {
    const sock = this.sock;
    if (sock === undefined) return;
    const frame = advertiseFrame(this.config.gateway_id, this.intervalMs);
    for (const t of this.targets()) {
      sock.send(frame, t.port, t.host, (err) => {
        if (err) this.opts.log.debug({ err: err.message, target: t.host }, 'mqttsn: ADVERTISE not sent');
      });
    }
  }
}
