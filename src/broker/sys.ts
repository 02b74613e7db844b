/**
 * The $SYS publisher (EMQX `emqx_sys`): broker facts, stats and metrics on a timer, and client events as
 * they happen, under `$SYS/brokers/<node>/`. Messages carry the `sys` flag, which keeps them away from ExHook.
 */
import type { SysTopicsConfig } from '../config/schema/index.js';
import { SYSDESCR, VERSION } from '../version.js';
import type { Broker } from './broker.js';
import { HookPriority } from './hooks.js';
import { Message } from './message.js';
import type { ClientInfo, ConnInfo, SubOpts } from './types.js';

export class SysPublisher {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly disposers: Array<() => void> = [];
  private readonly startedAt = Date.now();
  private readonly base: string;

  constructor(
    private readonly broker: Broker,
    private readonly config: SysTopicsConfig,
    private readonly extraStats: () => Record<string, number> = () => ({}),
    /** The running nodes of the cluster ($SYS/brokers); a single node lists itself. */
    private readonly brokers: () => string[] = () => [broker.settings.node],
  ) {
    this.base = `$SYS/brokers/${broker.settings.node}`;
  }

  /** Milliseconds since start (the uptime $SYS reports). */
  get uptime(): number {
    return Date.now() - this.startedAt;
  }

  start(): void {
    const c = this.config;
    if (c.sys_msg_interval > 0) {
      this.publishInfo();
      this.every(c.sys_msg_interval, () => this.publishInfo());
    }
    if (c.sys_heartbeat_interval > 0) {
      this.publishHeartbeat();
      this.every(c.sys_heartbeat_interval, () => this.publishHeartbeat());
    }
    const ev = c.sys_event_messages;
    const hooks = this.broker.hooks;
    if (ev.client_connected) {
      this.disposers.push(
        hooks.add('client.connected', (ci, conn) => this.connected(ci, conn), HookPriority.SYS_MSGS, 'sys'),
      );
    }
    if (ev.client_disconnected) {
      this.disposers.push(
        hooks.add(
          'client.disconnected',
          (ci, reason, conn) => this.disconnected(ci, reason, conn),
          HookPriority.SYS_MSGS,
          'sys',
        ),
      );
    }
    if (ev.client_subscribed) {
      this.disposers.push(
        hooks.add(
          'session.subscribed',
          (ci, topic, opts) => this.subEvent(ci, 'subscribed', topic, opts),
          HookPriority.SYS_MSGS,
          'sys',
        ),
      );
    }
    if (ev.client_unsubscribed) {
      this.disposers.push(
        hooks.add(
          'session.unsubscribed',
          (ci, topic, opts) => this.subEvent(ci, 'unsubscribed', topic, opts),
          HookPriority.SYS_MSGS,
          'sys',
        ),
      );
    }
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const d of this.disposers.splice(0)) d();
  }

  /** version, sysdescr, the node list, stats and metrics. */
  publishInfo(): void {
    this.publish('$SYS/brokers', this.brokers().join(','), true);
    this.publish(`${this.base}/version`, VERSION, true);
    this.publish(`${this.base}/sysdescr`, SYSDESCR, true);
    const stats = { ...this.broker.metrics.stats(), ...this.extraStats() };
    for (const [name, value] of Object.entries(stats)) {
      this.publish(`${this.base}/stats/${name.replaceAll('.', '/')}`, String(value), false);
    }
    for (const [name, value] of Object.entries(this.broker.metrics.snapshot())) {
      this.publish(`${this.base}/metrics/${name.replaceAll('.', '/')}`, String(value), false);
    }
  }

  /** uptime and datetime. */
  publishHeartbeat(): void {
    this.publish(`${this.base}/uptime`, String(this.uptime), false);
    this.publish(`${this.base}/datetime`, new Date().toISOString(), false);
  }

  private connected(ci: ClientInfo, conn: ConnInfo): undefined {
    const topic = this.clientTopic(ci, 'connected');
    if (!this.broker.mayDeliver(topic)) return undefined;
    this.publish(
      topic,
      JSON.stringify({
        clientid: ci.clientid,
        username: ci.username ?? null,
        ipaddress: ci.peerhost,
        sockport: ci.sockport,
        proto_name: conn.proto_name,
        proto_ver: conn.proto_ver,
        keepalive: conn.keepalive,
        clean_start: conn.clean_start,
        expiry_interval: conn.expiry_interval * 1000,
        connected_at: conn.connected_at,
        connack: 0,
        protocol: ci.protocol,
        ts: Date.now(),
      }),
      false,
    );
    return undefined;
  }

  private disconnected(ci: ClientInfo, reason: string, conn: ConnInfo): undefined {
    const topic = this.clientTopic(ci, 'disconnected');
    if (!this.broker.mayDeliver(topic)) return undefined;
    this.publish(
      topic,
      JSON.stringify({
        clientid: ci.clientid,
        username: ci.username ?? null,
        reason,
        ipaddress: ci.peerhost,
        sockport: ci.sockport,
        proto_name: conn.proto_name,
        proto_ver: conn.proto_ver,
        protocol: ci.protocol,
        disconnected_at: conn.disconnected_at ?? Date.now(),
        ts: Date.now(),
      }),
      false,
    );
    return undefined;
  }

  private subEvent(
    ci: ClientInfo,
    event: 'subscribed' | 'unsubscribed',
    topic: string,
    opts: SubOpts,
  ): undefined {
    const topicName = this.clientTopic(ci, event);
    if (!this.broker.mayDeliver(topicName)) return undefined;
    this.publish(
      topicName,
      JSON.stringify({
        clientid: ci.clientid,
        username: ci.username ?? null,
        protocol: ci.protocol,
        topic,
        subopts: { qos: opts.qos, nl: opts.nl, rap: opts.rap, rh: opts.rh, is_new: opts.is_new ?? true },
        ts: Date.now(),
      }),
      false,
    );
    return undefined;
  }

  /** Gateway clients report under .../gateway/<protocol>/clients/... */
  private clientTopic(ci: ClientInfo, event: string): string {
    const prefix = ci.protocol === 'mqtt' ? this.base : `${this.base}/gateway/${ci.protocol}`;
    return `${prefix}/clients/${ci.clientid}/${event}`;
  }

  private publish(topic: string, payload: string, retain: boolean): void {
    const msg = new Message(topic, Buffer.from(payload), 0, this.broker.settings.node, retain);
    msg.flags.sys = true;
    void this.broker.publish(msg);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }
}
