/**
 * Closed-loop refilling of the traffic generators: publishers whose window moved are refilled once per
 * event-loop turn, one write each, rather than once per ack or delivery (which would mean one tiny write
 * per message).
 */
export class RefillQueue {
  private readonly dirty: Uint8Array;
  private readonly list: number[] = [];
  private scheduled = false;
  private readonly flushBound = () => this.flush();

  constructor(
    publishers: number,
    private readonly refill: (pub: number) => void,
  ) {
    this.dirty = new Uint8Array(publishers);
  }

  /** Publisher `pub`'s window moved: refill it on the next pass. */
  mark(pub: number): void {
    if (this.dirty[pub] === 1) return;
    this.dirty[pub] = 1;
    this.list.push(pub);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private flush(): void {
    this.scheduled = false;
    const list = this.list;
    for (let k = 0; k < list.length; k++) {
      const pub = list[k]!;
      this.dirty[pub] = 0;
      this.refill(pub);
    }
    list.length = 0;
  }
}
