/**
 * Per-stream sequence checks of the traffic generators: each stream (a publisher seen by one subscriber)
 * must deliver rising numbers; a skipped number counts as a gap (lost unless it comes later), a number seen
 * again is a redelivery when it carries DUP at QoS 1/2, an order violation otherwise.
 */
export class SequenceCheck {
  /** Numbers skipped over (may still arrive later, then they also count as `backwards`). */
  gaps = 0;
  /** Numbers seen again without DUP, or after a later one. */
  backwards = 0;
  /** QoS 1/2 redeliveries (DUP set). */
  dups = 0;
  /** Next expected sequence number per stream. */
  readonly next: Int32Array;

  constructor(streams: number) {
    this.next = new Int32Array(streams);
  }

  /**
   * Records `seq` on stream `k`: the number expected before it, or -1 when it is not new (counted as a
   * redelivery or an order violation). `countGaps` false: skips are normal (a shared group's member sees
   * a rising subsequence).
   */
  accept(k: number, seq: number, qos: number, dup: boolean, countGaps = true): number {
    const n = this.next[k]!;
    if (seq < n) {
      if (qos > 0 && dup) this.dups++;
      else this.backwards++;
      return -1;
    }
    if (countGaps) this.gaps += seq - n;
    this.next[k] = seq + 1;
    return n;
  }
}
