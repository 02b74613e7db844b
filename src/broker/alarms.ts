/**
 * The alarm registry (EMQX `emqx_alarm`): named conditions that are activated and deactivated by whoever
 * watches them. Each change runs the alarm.activated / alarm.deactivated hooks and is published on
 * `$SYS/brokers/<node>/alarms/activate|deactivate`. Deactivated alarms are kept as history for the API.
 */
import { logger } from '../log.js';
import type { Broker } from './broker.js';
import type { AlarmInfo } from './hooks.js';
import { Message } from './message.js';

export interface Alarm {
  name: string;
  message: string;
  details: Record<string, unknown>;
  /** Epoch ms. */
  activate_at: number;
  /** Epoch ms; undefined while active. */
  deactivate_at: number | undefined;
  activated: boolean;
}

export interface AlarmSettings {
  /** Most deactivated alarms kept (EMQX alarm.size_limit). */
  sizeLimit: number;
  /** How long a deactivated alarm is kept, in ms (EMQX alarm.validity_period). */
  validityPeriod: number;
  /** What a change does besides the hooks (EMQX alarm.actions); both when absent. */
  actions?: readonly ('log' | 'publish')[];
}

/** The `alarm` config section's shape (file keys, decoded). */
export interface AlarmConfig {
  size_limit: number;
  validity_period: number;
  actions: readonly ('log' | 'publish')[];
}

/** Settings that follow the live config: each read goes through `read`, so runtime changes apply at once. */
export function liveAlarmSettings(read: () => AlarmConfig): AlarmSettings {
  return {
    get sizeLimit() {
      return read().size_limit;
    },
    get validityPeriod() {
      return read().validity_period;
    },
    get actions() {
      return read().actions;
    },
  };
}

export class Alarms {
  private readonly active = new Map<string, Alarm>();
  private history: Alarm[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly settings: AlarmSettings = { sizeLimit: 1000, validityPeriod: 24 * 3600_000 },
  ) {}

  /** Raises an alarm; false when it is already active. */
  activate(name: string, details: Record<string, unknown> = {}, message = ''): boolean {
    if (this.active.has(name)) return false;
    const alarm: Alarm = {
      name,
      message,
      details,
      activate_at: Date.now(),
      deactivate_at: undefined,
      activated: true,
    };
    this.active.set(name, alarm);
    this.notify('activate', alarm);
    return true;
  }

  /** Clears an active alarm (optionally with final details/message); false when it was not active. */
  deactivate(name: string, details?: Record<string, unknown>, message?: string): boolean {
    const alarm = this.active.get(name);
    if (alarm === undefined) return false;
    this.active.delete(name);
    const done: Alarm = {
      ...alarm,
      details: details ?? alarm.details,
      message: message ?? alarm.message,
      deactivate_at: Date.now(),
      activated: false,
    };
    this.history.push(done);
    this.trimHistory();
    this.notify('deactivate', done);
    return true;
  }

  /** Active alarms, oldest first. */
  activated(): Alarm[] {
    return [...this.active.values()];
  }

  /** Deactivated alarms, oldest first. */
  deactivated(): Alarm[] {
    this.trimHistory();
    return [...this.history];
  }

  /** Forgets the deactivated alarms. */
  clearDeactivated(): void {
    this.history = [];
  }

  private trimHistory(): void {
    const oldest = Date.now() - this.settings.validityPeriod;
    this.history = this.history.filter((a) => (a.deactivate_at ?? 0) >= oldest);
    if (this.history.length > this.settings.sizeLimit)
      this.history = this.history.slice(this.history.length - this.settings.sizeLimit);
  }

  private notify(event: 'activate' | 'deactivate', alarm: Alarm): void {
    const hooks = this.broker.hooks;
    const info: AlarmInfo = {
      name: alarm.name,
      details: alarm.details,
      message: alarm.message,
      activated_at: alarm.activate_at,
      deactivated_at: alarm.deactivate_at,
    };
    const point = event === 'activate' ? 'alarm.activated' : 'alarm.deactivated';
    if (hooks.has(point)) hooks.run(point, info);
    const actions = this.settings.actions ?? ['log', 'publish'];
    if (actions.includes('log')) {
      logger.warn({ alarm: alarm.name, details: alarm.details }, `alarm ${event}d: ${alarm.message}`);
    }
    if (!actions.includes('publish')) return;
    const payload: Record<string, unknown> = {
      name: alarm.name,
      details: alarm.details,
      message: alarm.message,
      activate_at: alarm.activate_at,
    };
    if (alarm.deactivate_at !== undefined) payload.deactivate_at = alarm.deactivate_at;
    const msg = new Message(
      `$SYS/brokers/${this.broker.settings.node}/alarms/${event}`,
      Buffer.from(JSON.stringify(payload)),
      0,
      this.broker.settings.node,
      false,
    );
    msg.flags.sys = true;
    void this.broker.publish(msg);
  }
}
