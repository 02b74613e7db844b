/**
 * What a connection driver, its channel context and the clients view need from their gateway, and what the
 * context needs from its driver: narrow interfaces so those files depend on these, never on each other
 * (gateway.ts builds connections; nothing under it imports gateway.ts back).
 */
import type { LiveChannel } from '../broker/client-registry.js';
import type { Session } from '../broker/session.js';
import type { ConnInfo } from '../broker/types.js';
import type { Logger } from '../log.js';
import type { GatewayEnv } from './env.js';
import type { GatewayMetrics } from './metrics.js';
import type { CallResult, GatewayCommonConfig, GatewayModule, LiveConnection } from './types.js';

/** Per-client packet and message counters (the clients API's recv_pkt, send_msg, …). */
export interface ClientCounters {
  recvPkt: number;
  sendPkt: number;
  recvMsg: number;
  sendMsg: number;
}

/** What a channel context needs from the driver of its connection. */
export interface ContextDriver extends LiveChannel {
  readonly counters: ClientCounters;
  isClosed(): boolean;
  holdDeliveries(hold: boolean): void;
  /** Holds deliveries caused by the current input until its replies (the client's ack) are sent. */
  deferOwnDeliveries(): void;
  /** A command to the connection's own channel, queued like any input, before or after login. */
  command(name: string, data: unknown): Promise<CallResult>;
}

/** One loaded gateway as its connections see it. */
export interface GatewayScope {
  readonly name: string;
  readonly module: GatewayModule;
  /** Live config (replaced on update). */
  readonly config: GatewayCommonConfig;
  readonly env: GatewayEnv;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** The last connection facts of each session, so an offline session still shows how its client connected. */
  readonly lastConn: WeakMap<Session, ConnInfo>;
  /** A connection was set up on one of the gateway's listeners. */
  opened(c: LiveConnection): void;
  /** A connection logged in: it can be found by client id. */
  track(c: LiveConnection): void;
  /** A connection is gone. */
  closed(c: LiveConnection): void;
  /** The logged-in connection of a client id. */
  connection(clientid: string): LiveConnection | undefined;
  /** Every logged-in connection (sessionless ones included). */
  loggedIn(): Iterable<LiveConnection>;
}
