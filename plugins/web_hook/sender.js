/**
 * Sends event bodies to the endpoint without ever making the broker wait: push() only appends to a
 * bounded queue (a full queue drops the event and counts it); up to pool_size requests run at once, each
 * carrying up to batch_size bodies. A request that fails (network error, timeout, 5xx) is tried again
 * retry_max times, retry_interval_ms apart, then its events are dropped and counted. A 4xx is the
 * endpoint refusing the events, so they are dropped at once.
 */
import { makeTransport } from './transport.js';

export class Sender {
  #conf;
  #transport;
  #api;
  #queue = [];
  #head = 0;
  #inFlight = 0;
  #stopped = false;
  #draining = false;
  #onDrained;

  constructor(api, conf) {
    this.#api = api;
    this.#conf = conf;
    this.#transport = makeTransport(conf);
  }

  /** Events waiting to be sent. */
  get queued() {
    return this.#queue.length - this.#head;
  }

  /** Queues one body; drops it (counted) when the queue is full. */
  push(body) {
    if (this.#stopped || this.#draining) return;
    if (this.queued >= this.#conf.queue_max) {
      this.#drop('queue_full', 1);
      return;
    }
    this.#queue.push(body);
    this.#pump();
    this.#api.metrics.set('queued', this.queued);
  }

  /** Takes no new events; sends what is queued and in flight, then closes its connections. */
  drain(onDone) {
    this.#draining = true;
    this.#onDrained = onDone;
    this.#closeIfDone();
  }

  #closeIfDone() {
    if (this.#draining && this.#inFlight === 0 && this.queued === 0 && !this.#stopped) {
      this.#stopped = true;
      this.#transport.close();
      this.#onDrained?.();
    }
  }

  /** Stops sending; what is still queued is dropped (counted). */
  stop() {
    this.#stopped = true;
    const left = this.queued;
    this.#queue = [];
    this.#head = 0;
    if (left > 0) this.#drop('stopped', left);
    this.#api.metrics.set('queued', 0);
    this.#transport.close();
  }

  #pump() {
    while (!this.#stopped && this.#inFlight < this.#conf.pool_size && this.queued > 0) {
      const n = Math.min(this.#conf.batch_size, this.queued);
      const batch = this.#queue.slice(this.#head, this.#head + n);
      this.#head += n;
      // Compact now and then rather than shift() per event, which copies the whole queue.
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#inFlight++;
      this.#send(batch, 0);
    }
  }

  #send(batch, attempt) {
    const conf = this.#conf;
    const body = JSON.stringify(conf.batch_size === 1 ? batch[0] : batch);
    this.#transport.post(body).then(
      (status) => {
        if (status < 300) return this.#done('sent', batch.length);
        if (status < 500) {
          this.#api.log.warn({ status: status, events: batch.length }, 'web hook: endpoint refused events');
          return this.#finish(() => this.#drop('refused', batch.length));
        }
        this.#retry(batch, attempt, `HTTP ${status}`);
      },
      (err) => this.#retry(batch, attempt, err?.message ?? String(err)),
    );
  }

  #retry(batch, attempt, why) {
    if (this.#stopped) return this.#finish(() => this.#drop('stopped', batch.length));
    if (attempt >= this.#conf.retry_max) {
      this.#api.log.warn({ reason: why, events: batch.length }, 'web hook: request failed; events dropped');
      return this.#finish(() => this.#drop('failed', batch.length));
    }
    this.#api.metrics.inc('retries');
    this.#api.setTimeout(() => {
      if (this.#stopped) this.#finish(() => this.#drop('stopped', batch.length));
      else this.#send(batch, attempt + 1);
    }, this.#conf.retry_interval_ms);
  }

  #done(metric, n) {
    this.#finish(() => this.#api.metrics.inc(metric, n));
  }

  #finish(count) {
    this.#inFlight--;
    count();
    this.#pump();
    if (!this.#draining) this.#api.metrics.set('queued', this.queued);
    this.#closeIfDone();
  }

  #drop(reason, n) {
    this.#api.metrics.inc('dropped', n);
    this.#api.metrics.inc(`dropped_${reason}`, n);
  }
}
