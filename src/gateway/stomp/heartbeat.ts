/**
 * STOMP heart-beating (EMQX `emqx_stomp_heartbeat`): negotiation of `heart-beat: cx,cy` and the two
 * checks run on timers. Incoming: the client must have sent some bytes within each `cx` interval; one
 * silent interval is tolerated, the second closes. Outgoing: if we sent nothing during a `cy` interval, a
 * newline goes out. Pure: the channel feeds it byte counters and acts on the answers.
 */

/** `heart-beat` of CONNECT as [cx, cy] (ms); undefined when malformed. Absent means 0,0. */
export function parseHeartBeat(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return [0, 0];
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (m === null) return undefined;
  return [Number(m[1]), Number(m[2])];
}

/** Silent incoming intervals tolerated before the connection is declared dead. */
const MAX_INCOMING_MISSES = 1;

/** The two heart-beat checks of one connection. */
export class HeartbeatChecker {
  private lastRecv: number;
  private lastSent: number;
  private misses = 0;

  /**
   * @param incoming ms between client heart-beats we expect (0 = none)
   * @param outgoing ms between our heart-beats (0 = none)
   */
  constructor(
    readonly incoming: number,
    readonly outgoing: number,
    recvOct: number,
    sendOct: number,
  ) {
    this.lastRecv = recvOct;
    this.lastSent = sendOct;
  }

  /** Incoming tick: 'ok' while the client is alive, 'timeout' once it has been silent too long. */
  checkIncoming(recvOct: number): 'ok' | 'timeout' {
    if (recvOct !== this.lastRecv) {
      this.lastRecv = recvOct;
      this.misses = 0;
      return 'ok';
    }
    this.misses++;
    return this.misses > MAX_INCOMING_MISSES ? 'timeout' : 'ok';
  }

  /** ms between outgoing checks. */
  get outgoingTick(): number {
    return Math.max(1, Math.floor(this.outgoing / 2));
  }

  /** Outgoing tick: true when nothing was sent since the last tick, so a heart-beat must go out. */
  checkOutgoing(sendOct: number): boolean {
    const idle = sendOct === this.lastSent;
    this.lastSent = sendOct;
    return idle;
  }

  /** Records bytes we just sent ourselves (the heart-beat), so the next tick sees them as old. */
  sent(sendOct: number): void {
    this.lastSent = sendOct;
  }
}
