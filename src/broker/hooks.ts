/**
 * The hook engine (EMQX `emqx_hooks`): named hook points, callbacks in descending priority, notifications
 * and folds with continue / replace / stop. A chain stays synchronous until some callback returns a
 * Promise, so the publish path awaits nothing when every registered callback is synchronous.
 */

import { logger } from '../log.js';
import type { ConnackProperties, ConnectProperties, UserProperties } from '../mqtt/codec/packets.js';
import type { Message } from './message.js';
import type {
  AuthnResult,
  AuthzAction,
  AuthzResult,
  ClientInfo,
  ConnInfo,
  Credential,
  SessionInfo,
  SubOpts,
} from './types.js';

/** A topic filter with its options, as client.subscribe / client.unsubscribe folds see them. */
export interface TopicFilterEntry {
  topic: string;
  opts: SubOpts;
}

/** Extra facts for message.dropped. */
export interface DropContext {
  node: string;
}

/** Alarm facts for alarm.* hooks. */
export interface AlarmInfo {
  name: string;
  details: Record<string, unknown>;
  message: string;
  activated_at: number;
  deactivated_at?: number;
}

/**
 * Every hook point: its arguments and, for folds, the accumulator type.
 * `acc: never` marks a notification (run), anything else a fold (runFold).
 */
export interface HookSpecs {
  'client.connect': { args: [ConnInfo]; acc: ConnectProperties | { error: number } };
  'client.connack': { args: [ConnInfo, string]; acc: ConnackProperties };
  'client.authenticate': { args: [Credential]; acc: AuthnResult };
  'client.check_authn_complete': {
    args: [Credential, { reason_code: string; is_superuser: boolean; is_anonymous: boolean }];
    acc: never;
  };
  'client.authorize': { args: [ClientInfo, AuthzAction, string]; acc: AuthzResult };
  'client.check_authz_complete': { args: [ClientInfo, AuthzAction, string, string, string]; acc: never };
  'client.connected': { args: [ClientInfo, ConnInfo]; acc: never };
  'client.disconnected': { args: [ClientInfo, string, ConnInfo]; acc: never };
  'client.subscribe': { args: [ClientInfo, { userProperties?: UserProperties }]; acc: TopicFilterEntry[] };
  'client.unsubscribe': { args: [ClientInfo, { userProperties?: UserProperties }]; acc: TopicFilterEntry[] };
  'session.created': { args: [ClientInfo, SessionInfo]; acc: never };
  'session.subscribed': { args: [ClientInfo, string, SubOpts]; acc: never };
  'session.unsubscribed': { args: [ClientInfo, string, SubOpts]; acc: never };
  'session.resumed': { args: [ClientInfo, SessionInfo]; acc: never };
  'session.discarded': { args: [ClientInfo, SessionInfo]; acc: never };
  'session.takenover': { args: [ClientInfo, SessionInfo]; acc: never };
  'session.terminated': { args: [ClientInfo, string, SessionInfo]; acc: never };
  'message.publish': { args: []; acc: Message };
  'message.delivered': { args: [ClientInfo]; acc: Message };
  'message.acked': { args: [ClientInfo, Message]; acc: never };
  'message.dropped': { args: [Message, DropContext, string]; acc: never };
  'delivery.dropped': { args: [ClientInfo, Message, string]; acc: never };
  'alarm.activated': { args: [AlarmInfo]; acc: never };
  'alarm.deactivated': { args: [AlarmInfo]; acc: never };
}

export type HookPoint = keyof HookSpecs;
export type HookArgs<H extends HookPoint> = HookSpecs[H]['args'];
export type HookAcc<H extends HookPoint> = HookSpecs[H]['acc'];

/** The hook points EMQX 5.8 names, in its order. */
export const HOOK_POINTS: readonly HookPoint[] = [
  'client.connect',
  'client.connack',
  'client.authenticate',
  'client.check_authn_complete',
  'client.authorize',
  'client.check_authz_complete',
  'client.connected',
  'client.disconnected',
  'client.subscribe',
  'client.unsubscribe',
  'session.created',
  'session.subscribed',
  'session.unsubscribed',
  'session.resumed',
  'session.discarded',
  'session.takenover',
  'session.terminated',
  'message.publish',
  'message.delivered',
  'message.acked',
  'message.dropped',
  'delivery.dropped',
  'alarm.activated',
  'alarm.deactivated',
];

/** Return this from a callback to end the chain (keeping the accumulator, for folds). */
export const STOP: unique symbol = Symbol('hooks.stop');

/** What a fold callback may return: nothing (continue), {ok} (continue with a new acc), STOP, or {stop}. */
export type FoldReturn<A> = undefined | { ok: A } | typeof STOP | { stop: A };
export type NotifyReturn = undefined | typeof STOP;

export type FoldCallback<H extends HookPoint> = (
  ...args: [...HookArgs<H>, HookAcc<H>]
) => FoldReturn<HookAcc<H>> | Promise<FoldReturn<HookAcc<H>>>;
export type NotifyCallback<H extends HookPoint> = (
  ...args: HookArgs<H>
) => NotifyReturn | undefined | Promise<NotifyReturn | undefined>;
export type HookCallback<H extends HookPoint> =
  HookAcc<H> extends never ? NotifyCallback<H> : FoldCallback<H>;

/** Priorities of built-in users (EMQX `HP_*`). Higher runs first. */
export const HookPriority = {
  HIGHEST: 1000,
  PSK: 990,
  REWRITE: 980,
  AUTHN: 970,
  AUTHZ: 960,
  SYS_MSGS: 950,
  TOPIC_METRICS: 940,
  RETAINER: 930,
  AUTO_SUB: 920,
  RULE_ENGINE: 900,
  SLOW_SUB: 880,
  BRIDGE: 870,
  DELAY_PUB: 860,
  NODE_REBALANCE: 110,
  EXHOOK: 100,
  LOWEST: 0,
} as const;

interface Registration {
  // Stored untyped: each chain only ever holds callbacks of its own hook point.
  fn: (...args: unknown[]) => unknown;
  priority: number;
  /** Registration order, so equal priorities keep mount order. */
  order: number;
  owner: string | undefined;
}

const EMPTY: readonly Registration[] = [];

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}

export class Hooks {
  private readonly chains = new Map<HookPoint, Registration[]>();
  private counter = 0;

  constructor() {
    for (const p of HOOK_POINTS) this.chains.set(p, []);
  }

  /**
   * Registers a callback. Equal priorities run in registration order (EMQX orders ties by callback
   * identity, which callers cannot see; mount order is the documented intent). Returns an unregister function.
   */
  add<H extends HookPoint>(point: H, fn: HookCallback<H>, priority = 0, owner?: string): () => void {
    const chain = this.chainOf(point);
    if (chain.some((r) => r.fn === fn)) throw new Error(`hook callback already registered on ${point}`);
    const reg: Registration = {
      fn: fn as (...args: unknown[]) => unknown,
      priority,
      order: this.counter++,
      owner,
    };
    const next = [...chain, reg].sort((a, b) => b.priority - a.priority || a.order - b.order);
    // Replace, never mutate: a chain being run keeps iterating its own array.
    this.chains.set(point, next);
    return () => this.remove(point, fn);
  }

  /** Unregisters a callback (no-op when absent). */
  remove<H extends HookPoint>(point: H, fn: HookCallback<H>): void {
    const chain = this.chainOf(point);
    const next = chain.filter((r) => r.fn !== fn);
    if (next.length !== chain.length) this.chains.set(point, next);
  }

  /** Unregisters every callback added with this owner (a plugin or ExHook server going away). */
  removeOwner(owner: string): void {
    for (const [point, chain] of this.chains) {
      const next = chain.filter((r) => r.owner !== owner);
      if (next.length !== chain.length) this.chains.set(point, next);
    }
  }

  /** True when at least one callback listens on `point`: callers skip building arguments otherwise. */
  has(point: HookPoint): boolean {
    return (this.chains.get(point) ?? EMPTY).length > 0;
  }

  /** True when a callback not added by `owner` listens on `point`. */
  hasBesides(point: HookPoint, owner: string): boolean {
    for (const r of this.chains.get(point) ?? EMPTY) if (r.owner !== owner) return true;
    return false;
  }

  /** Number of callbacks on a point (for the API). */
  count(point: HookPoint): number {
    return (this.chains.get(point) ?? EMPTY).length;
  }

  /**
   * Runs a notification hook. Synchronous callbacks run at once; once one returns a Promise the rest wait
   * for it, and `run` returns a Promise that never rejects (callback failures are logged and skipped).
   */
  run<H extends HookPoint>(point: H, ...args: HookArgs<H>): void | Promise<void> {
    const chain = this.chains.get(point);
    if (chain === undefined || chain.length === 0) return;
    return runFrom(point, chain, 0, args as unknown[]);
  }

  /**
   * Runs a fold hook over `acc`. Returns the final accumulator, synchronously while every callback is
   * synchronous, otherwise as a Promise that never rejects.
   */
  runFold<H extends HookPoint>(
    point: H,
    args: HookArgs<H>,
    acc: HookAcc<H>,
  ): HookAcc<H> | Promise<HookAcc<H>> {
    const chain = this.chains.get(point);
    if (chain === undefined || chain.length === 0) return acc;
    return foldFrom(point, chain, 0, args as unknown[], acc) as HookAcc<H> | Promise<HookAcc<H>>;
  }

  private chainOf(point: HookPoint): Registration[] {
    const chain = this.chains.get(point);
    if (chain === undefined) throw new Error(`invalid hookpoint: ${point}`);
    return chain;
  }
}

function runFrom(
  point: HookPoint,
  chain: readonly Registration[],
  start: number,
  args: unknown[],
): void | Promise<void> {
  for (let i = start; i < chain.length; i++) {
    let r: unknown;
    try {
      r = chain[i]!.fn(...args);
    } catch (err) {
      logFailure(point, err);
      continue;
    }
    if (r === STOP) return;
    if (isThenable(r)) {
      return Promise.resolve(r).then(
        (v) => (v === STOP ? undefined : runFrom(point, chain, i + 1, args)),
        (err) => {
          logFailure(point, err);
          return runFrom(point, chain, i + 1, args);
        },
      );
    }
  }
}

function foldFrom(
  point: HookPoint,
  chain: readonly Registration[],
  start: number,
  args: unknown[],
  acc: unknown,
): unknown {
  for (let i = start; i < chain.length; i++) {
    let r: unknown;
    try {
      r = args.length === 0 ? chain[i]!.fn(acc) : chain[i]!.fn(...args, acc);
    } catch (err) {
      logFailure(point, err);
      continue;
    }
    if (r === undefined) continue;
    if (isThenable(r)) {
      return Promise.resolve(r).then(
        (v) => {
          // applyResult inline: no {stop, acc} object per async stage (an ExHook publish has one).
          if (v === STOP) return acc;
          if (typeof v === 'object' && v !== null) {
            if ('ok' in v) return foldFrom(point, chain, i + 1, args, (v as { ok: unknown }).ok);
            if ('stop' in v) return (v as { stop: unknown }).stop;
          }
          return foldFrom(point, chain, i + 1, args, acc);
        },
        (err) => {
          logFailure(point, err);
          return foldFrom(point, chain, i + 1, args, acc);
        },
      );
    }
    if (r === STOP) return acc;
    if (typeof r === 'object' && r !== null) {
      if ('ok' in r) acc = (r as { ok: unknown }).ok;
      else if ('stop' in r) return (r as { stop: unknown }).stop;
    }
  }
  return acc;
}

function logFailure(point: HookPoint, err: unknown): void {
  logger.error({ hook: point, err }, 'hook callback failed; skipped');
}
