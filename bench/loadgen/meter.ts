/**
 * The run state a traffic generator shares between its setup, its hot path and its verdict: whether the
 * publishers run, whether the measured window is open, what was sent and delivered in it, the delivery
 * latency, and when the run last made progress (so that a stall is told from a slow broker).
 */
import { Histogram } from './histogram.js';

export class TrafficMeter {
  /** Publishers stopped (before the warm-up and from the drain on). */
  stopped = true;
  /** In the measured window: sends and deliveries count. */
  measuring = false;
  /** Messages sent in the window. */
  published = 0;
  /** Messages delivered in the window. */
  delivered = 0;
  readonly latency = new Histogram();
  /** performance.now() of the last delivery or ack. */
  lastProgress = 0;

  /** The publishers start (the warm-up begins). */
  begin(): void {
    this.stopped = false;
    this.lastProgress = performance.now();
  }

  /** The measured window opens: its counts start at zero. */
  openWindow(): void {
    this.published = 0;
    this.delivered = 0;
    this.measuring = true;
  }

  /** A delivery of a message stamped `sentAt` arrived at `now` (both performance.now(), ms). */
  delivery(sentAt: number, now: number): void {
    if (this.measuring) {
      this.delivered++;
      this.latency.record((now - sentAt) * 1000);
    }
    this.lastProgress = now;
  }
}
