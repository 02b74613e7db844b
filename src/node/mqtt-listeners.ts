/**
 * The MQTT listeners of a node: one transport listener per enabled `listeners.<type>.<name>` entry, each
 * connection handed to a new MqttChannel. Follows `listeners` changes (restarting only what changed) and
 * `mqtt` changes (the live config channels read), and stops gracefully: stop accepting, DISCONNECT 0x8B to
 * every client, then close.
 */
import type { BrokerSettings } from '../broker/broker.js';
import type { Metrics } from '../broker/metrics.js';
import type { SharedStrategy } from '../broker/shared-sub.js';
import { youngGenTrim } from '../broker/young-gen-trim.js';
import type { HermodConfig } from '../config/schema/index.js';
import type { ListenerConfig, ListenerType } from '../config/schema/listeners.js';
import type { ConfigService } from '../config/service.js';
import { logger } from '../log.js';
import { MqttChannel } from '../mqtt/channel.js';
import type { MqttHost, MqttListenerInfo } from '../mqtt/host.js';
import { AccessRules } from '../transport/access-rules.js';
import { tlsOptionsFromConfig } from '../transport/config-options.js';
import { createListener } from '../transport/index.js';
import type { Listener, ListenerOptions } from '../transport/listener.js';
import type { Component } from './component.js';

/** Broker settings that follow the `mqtt` config root. */
export function brokerSettingsOf(m: HermodConfig['mqtt']): Omit<BrokerSettings, 'node'> {
  return {
    sharedStrategy: m.shared_subscription_strategy as SharedStrategy,
    sharedInitialSticky: m.shared_subscription_initial_sticky_pick as SharedStrategy,
    ignoreLoopDeliver: m.ignore_loop_deliver,
  };
}

/** The MqttHost as its owner sees it: the live mqtt config is replaced on every `mqtt` change. */
export type MutableMqttHost = Omit<MqttHost, 'mqtt'> & { mqtt: MqttHost['mqtt'] };

export class MqttListeners implements Component {
  readonly name = 'mqtt-listeners';
  readonly listeners = new Map<string, Listener>();
  private offs: Array<() => void> = [];

  constructor(
    private readonly host: MutableMqttHost,
    private readonly configs: ConfigService,
    private readonly metrics: Metrics,
  ) {}

  async start(): Promise<void> {
    // The config may have changed since the node was built (a cluster node catches up before this starts).
    this.applyMqtt(this.configs.config.mqtt);
    // Connection bursts grow V8's young generation; give it back once the node is quiet (young-gen-trim.ts).
    youngGenTrim.hold();
    for (const [type, name, cfg] of listenerEntries(this.configs.config.listeners)) {
      if (cfg.enable) await this.startListener(type, name, cfg);
    }
    this.offs = [
      this.configs.onChange('mqtt', (next) => this.applyMqtt(next)),
      this.configs.onChange('listeners', (next, prev) => this.sync(next, prev)),
    ];
  }

  private applyMqtt(next: MutableMqttHost['mqtt']): void {
    this.host.mqtt = next;
    Object.assign(this.host.broker.settings, brokerSettingsOf(next));
  }

  async stop(): Promise<void> {
    for (const off of this.offs) off();
    this.offs = [];
    await Promise.all([...this.listeners.values()].map((l) => l.stop(false)));
    for (const ch of [...this.host.channels]) ch.shutdown();
    // Let the DISCONNECTs reach the sockets before they are torn down.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.listeners.values()].map((l) => l.stop(true)));
    this.host.deadlines.stop();
    youngGenTrim.release();
  }

  /** Starts (or restarts) one MQTT listener from its config. */
  async startListener(type: ListenerType, name: string, cfg: ListenerConfig): Promise<Listener> {
    const id = `${type}:${name}`;
    const existing = this.listeners.get(id);
    if (existing?.running) await existing.stop(true);
    const info: MqttListenerInfo = {
      id,
      mountpoint: cfg.mountpoint,
      zone: cfg.zone,
      enableAuthn: cfg.enable_authn,
    };
    const rules = new AccessRules(cfg.access_rules);
    const listener = createListener(toListenerOptions(type, name, cfg, this.host.mqtt.max_packet_size), {
      onConnection: (conn) => {
        if (!rules.allows(conn.peerhost)) {
          logger.info({ listener: id, peer: conn.peerhost }, 'connection refused by access_rules');
          conn.destroy();
          return;
        }
        new MqttChannel(this.host, conn, info);
      },
      onRefused: (reason, peerhost, detail) => {
        if (reason === 'max_connections') this.metrics.c['client.max_connections_exceeded']++;
        logger.warn({ listener: id, peer: peerhost, reason, detail }, 'connection refused');
      },
    });
    await listener.start();
    this.listeners.set(id, listener);
    const addr = listener.address();
    logger.info({ listener: id, bind: addr ? `${addr.host}:${addr.port}` : undefined }, 'listener started');
    return listener;
  }

  /** Stops one listener (closing its connections); false when there is none by that id. */
  async stopListener(id: string): Promise<boolean> {
    const l = this.listeners.get(id);
    if (l === undefined) return false;
    await l.stop(true);
    return true;
  }

  /** Restarts only the listeners whose config changed; starts new ones and stops removed or disabled ones. */
  private async sync(next: HermodConfig['listeners'], prev: HermodConfig['listeners']): Promise<void> {
    const before = new Map(listenerEntries(prev).map(([t, n, c]) => [`${t}:${n}`, JSON.stringify(c)]));
    const wanted = new Set<string>();
    for (const [type, name, cfg] of listenerEntries(next)) {
      const id = `${type}:${name}`;
      wanted.add(id);
      const running = this.listeners.get(id)?.running === true;
      if (!cfg.enable) {
        if (running) await this.stopListener(id);
        continue;
      }
      if (running && before.get(id) === JSON.stringify(cfg)) continue;
      await this.startListener(type, name, cfg);
    }
    for (const id of [...this.listeners.keys()]) {
      if (!wanted.has(id)) {
        await this.stopListener(id);
        this.listeners.delete(id);
      }
    }
  }
}

/**
 * Transport options of a listener from its EMQX-style config. A WebSocket message is bounded by the
 * listener's max_frame_size and by `maxPacketSize` (mqtt.max_packet_size), checked before it is buffered.
 */
export function toListenerOptions(
  type: ListenerType,
  name: string,
  cfg: ListenerConfig,
  maxPacketSize = Number.POSITIVE_INFINITY,
): ListenerOptions {
  const split = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);
  const t = cfg.tcp_options;
  const opts: ListenerOptions = {
    id: `${type}:${name}`,
    type,
    bind: cfg.bind,
    maxConnections: cfg.max_connections,
    maxConnRate: cfg.max_conn_rate,
    proxyProtocol: cfg.proxy_protocol,
    proxyProtocolTimeoutMs: cfg.proxy_protocol_timeout,
    tcp: {
      nodelay: t.nodelay,
      backlog: t.backlog,
      highWatermark: t.high_watermark,
      sendTimeoutMs: t.send_timeout,
      keepalive: t.keepalive !== 'none',
    },
  };
  if ('ssl_options' in cfg) opts.tls = tlsOptionsFromConfig(cfg.ssl_options);
  if ('websocket' in cfg) {
    const w = cfg.websocket;
    opts.ws = {
      path: w.mqtt_path,
      supportedSubprotocols: split(w.supported_subprotocols),
      failIfNoSubprotocol: w.fail_if_no_subprotocol,
      maxFrameSize: Math.min(w.max_frame_size, maxPacketSize),
      checkOriginEnable: w.check_origin_enable,
      allowOriginAbsence: w.allow_origin_absence,
      checkOrigins: split(w.check_origins),
      proxyAddressHeader: w.proxy_address_header,
      proxyPortHeader: w.proxy_port_header,
      compress: w.compress,
    };
  }
  return opts;
}

/** Every configured listener as [type, name, config]. */
export function listenerEntries(
  listeners: HermodConfig['listeners'],
): Array<[ListenerType, string, ListenerConfig]> {
  const out: Array<[ListenerType, string, ListenerConfig]> = [];
  for (const [type, byName] of Object.entries(listeners) as Array<
    [ListenerType, Record<string, ListenerConfig>]
  >) {
    for (const [name, cfg] of Object.entries(byName)) out.push([type, name, cfg]);
  }
  return out;
}
