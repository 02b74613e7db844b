/**
 * The node's core components: the embedded store, the ban list, the retainer, persistent sessions and the
 * $SYS publisher. Each owns one object and follows the config root key it depends on.
 */
import { AutoSubscriber } from '../access/auto-subscribe.js';
import { BannedStore } from '../broker/banned.js';
import type { Broker } from '../broker/broker.js';
import { type Durability, startDurability } from '../broker/durability.js';
import { FlappingDetector } from '../broker/flapping.js';
import type { Hooks } from '../broker/hooks.js';
import { Retainer } from '../broker/retainer.js';
import { offlineClientInfo, restoreSessions, saveSessions } from '../broker/session-store.js';
import { SysPublisher } from '../broker/sys.js';
import type { ConfigService } from '../config/service.js';
import { logger } from '../log.js';
import { sessionSettings } from '../mqtt/handlers/connect.js';
import { type Db, openStore } from '../store/db.js';
import type { Component } from './component.js';

/** The embedded SQLite store, open between start and stop. */
export class StoreComponent implements Component {
  readonly name = 'store';
  db: Db | undefined;

  constructor(private readonly where: () => string) {}

  start(): void {
    this.db = openStore(this.where());
  }

  stop(): void {
    this.db?.close();
    this.db = undefined;
  }

  /** The open store (components after this one may rely on it). */
  open(): Db {
    if (this.db === undefined) throw new Error('the node store is not open');
    return this.db;
  }
}

/** Banned clients, kept in the store and consulted by every channel at login. */
export class BansComponent implements Component {
  readonly name = 'banned';
  banned: BannedStore | undefined;

  constructor(private readonly store: StoreComponent) {}

  start(): void {
    this.banned = new BannedStore(this.store.open());
  }

  stop(): void {
    this.banned?.stop();
    this.banned = undefined;
  }
}

/** Flapping detection (`flapping_detect`): bans client ids and addresses that connect or fail too often. */
export class FlappingComponent implements Component {
  readonly name = 'flapping';
  private detector: FlappingDetector | undefined;
  private off: (() => void) | undefined;

  constructor(
    private readonly hooks: Hooks,
    private readonly configs: ConfigService,
    private readonly bans: BansComponent,
  ) {}

  start(): void {
    const banned = this.bans.banned;
    if (banned === undefined) throw new Error('flapping detection needs the ban list');
    const detector = new FlappingDetector(this.hooks, banned, this.configs.config.flapping_detect);
    this.detector = detector;
    this.off = this.configs.onChange('flapping_detect', (next) => detector.apply(next));
  }

  stop(): void {
    this.off?.();
    this.detector?.stop();
    this.detector = undefined;
  }
}

/** `auto_subscribe`: subscriptions made for each MQTT client at connect; follows `auto_subscribe` changes. */
export class AutoSubscribeComponent implements Component {
  readonly name = 'auto_subscribe';
  private subscriber: AutoSubscriber | undefined;
  private off: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly configs: ConfigService,
  ) {}

  async start(): Promise<void> {
    const subscriber = new AutoSubscriber(this.broker);
    await subscriber.apply(this.configs.config.auto_subscribe);
    this.subscriber = subscriber;
    this.off = this.configs.onChange('auto_subscribe', (next) => subscriber.apply(next));
  }

  stop(): void {
    this.off?.();
    this.subscriber?.stop();
    this.subscriber = undefined;
  }
}

/** Retained messages: loaded from the store, written back on stop; follows `retainer` changes. */
export class RetainerComponent implements Component {
  readonly name = 'retainer';
  retainer: Retainer | undefined;
  private off: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly configs: ConfigService,
    private readonly store: StoreComponent,
  ) {}

  start(): void {
    const retainer = new Retainer(this.broker, this.configs.config.retainer, this.store.open());
    this.retainer = retainer;
    retainer.start();
    this.off = this.configs.onChange('retainer', (next) => retainer.update(next));
  }

  stop(): void {
    this.off?.();
    this.retainer?.stop();
  }

  /**
   * A component for after the listeners: loads the stored messages the retainer left unread, in slices
   * between which the listeners accept connections; the node counts as started (and the management API
   * starts) once they are all in memory.
   */
  loadedComponent(): Component {
    return {
      name: 'retainer-load',
      start: () => this.retainer?.loadInBackground(),
      stop: () => undefined,
    };
  }
}

/**
 * Write-ahead durability (`durability.mode`): commits persistent-session and retained changes in group
 * batches before their acknowledgements leave. Starts after the retainer it flushes and before the sessions
 * it journals, so it stops after every session was saved.
 */
export class DurabilityComponent implements Component {
  readonly name = 'durability';
  durability: Durability | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly configs: ConfigService,
    private readonly store: StoreComponent,
    private readonly retainer: RetainerComponent,
  ) {}

  start(): void {
    const db = this.store.open();
    this.durability = startDurability(
      this.broker,
      db,
      this.retainer.retainer,
      this.configs.config.durability,
    );
  }

  stop(): void {
    this.durability?.stop();
    this.durability = undefined;
  }
}

/** Persistent sessions: restored from the store at start, saved to it at stop (after every channel closed). */
export class SessionsComponent implements Component {
  readonly name = 'sessions';

  constructor(
    private readonly broker: Broker,
    private readonly configs: ConfigService,
    private readonly store: StoreComponent,
    private readonly durability: DurabilityComponent,
  ) {}

  start(): void {
    const restored = restoreSessions(
      this.broker,
      this.store.open(),
      () => sessionSettings(this.configs.config.mqtt, 5),
      (saved) => offlineClientInfo(this.configs.config.node.name, saved),
      // With durability on, the rows stay: they are the journal that a crash restarts from.
      this.durability.durability !== undefined,
    );
    if (restored > 0) logger.info({ restored }, 'restored persistent sessions');
  }

  stop(): void {
    const db = this.store.db;
    if (db === undefined) return;
    const saved = saveSessions(this.broker, db);
    if (saved > 0) logger.info({ saved }, 'persistent sessions saved');
    for (const record of [...this.broker.registry.records()]) {
      if (record.expiryTimer !== undefined) clearTimeout(record.expiryTimer);
      if (record.pendingWill !== undefined) clearTimeout(record.pendingWill.timer);
    }
  }
}

/** The $SYS publisher; a `sys_topics` change replaces it. */
export class SysComponent implements Component {
  readonly name = 'sys';
  publisher: SysPublisher | undefined;
  private off: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly configs: ConfigService,
    /** The running nodes ($SYS/brokers). */
    private readonly brokers?: () => string[],
  ) {}

  start(): void {
    this.replace(this.configs.config.sys_topics);
    this.off = this.configs.onChange('sys_topics', (next) => this.replace(next));
  }

  stop(): void {
    this.off?.();
    this.publisher?.stop();
  }

  private replace(cfg: ConfigService['config']['sys_topics']): void {
    this.publisher?.stop();
    this.publisher = new SysPublisher(this.broker, cfg, undefined, this.brokers);
    this.publisher.start();
  }
}
