/**
 * Paced load of the traffic generators: `rate` messages/s in total, what is due going out from the next
 * publisher in turn, so that the load is spread over time and publishers like independent devices. The loop
 * turns on setImmediate (it keeps the loader's core busy) so that messages leave on time; what is more than
 * 10 ms late is skipped and counted rather than sent in a burst.
 */
export class Pacer {
  /** Messages skipped while `measuring()` (windows full or loader too slow). */
  skipped = 0;
  private cursor = 0;

  /**
   * `send(pub, limit)` sends at most `limit` messages of publisher `pub` (what its windows allow) and
   * returns how many; each publisher's turn offers it at most `perTurn` of what is due.
   */
  constructor(
    private readonly rate: number,
    private readonly publishers: number,
    private readonly perTurn: number,
    private readonly send: (pub: number, limit: number) => number,
  ) {}

  /** Runs until `run.stopped`; counts skips while `run.measuring`. */
  start(run: { readonly stopped: boolean; readonly measuring: boolean }): void {
    const P = this.publishers;
    const start = performance.now();
    let issued = 0;
    const maxLate = Math.max(P, Math.floor(this.rate / 100));
    const tick = () => {
      if (run.stopped) return;
      let due = Math.floor(((performance.now() - start) * this.rate) / 1000) - issued;
      if (due > maxLate) {
        if (run.measuring) this.skipped += due - maxLate;
        issued += due - maxLate;
        due = maxLate;
      }
      for (let tries = 0; due > 0 && tries < P; ) {
        const pub = this.cursor;
        this.cursor = (pub + 1) % P;
        const sent = this.send(pub, Math.min(due, this.perTurn));
        due -= sent;
        issued += sent;
        // Keep going while someone can send.
        if (sent > 0) tries = 0;
        else tries++;
      }
      setImmediate(tick);
    };
    setImmediate(tick);
  }
}
