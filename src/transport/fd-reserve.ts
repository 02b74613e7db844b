/**
 * Descriptors kept back for the management API. A connection flood up to the process's file-descriptor
 * limit would otherwise leave the API unable to accept (EMFILE) just when an operator needs it to kick or
 * ban. Broker listeners (MQTT and gateways, over TCP, TLS and WebSocket) ask `fdBudget.admit()` for every
 * accepted socket and close it at once when open descriptors reach `limit - reserve`; the API's listener
 * does not ask, so it keeps the last `reserve` descriptors. Refusals are logged rate-limited: one line at
 * the first, then one summary per interval with the count of refusals it stands for.
 *
 * The count is of every descriptor the process has open, whoever opened it (listeners, the store, plugins,
 * log files), not a tally of our own sockets, which would miss the others. It is read at most once per
 * REFRESH_MS and advanced by one per admitted socket in between; close to the threshold it is re-read (at
 * most every RECHECK_MS) before a socket is refused. While the estimate stays more than NEAR_SHARE of the
 * limit below the threshold, once per FAR_REFRESH_MS is enough.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { logger } from '../log.js';

const REFRESH_MS = 1000;
const RECHECK_MS = 50;
// Far below the threshold a stale count cannot refuse anyone wrongly, and descriptors opened elsewhere
// would have to grow by NEAR_SHARE of the limit within FAR_REFRESH_MS to be missed. (Chosen when the count
// listed /proc/self/fd, 2.8 % of the broker's CPU with 10 000 connections at one read per second,
// 2026-12-04; see openDescriptors.)
const FAR_REFRESH_MS = 10_000;
const NEAR_SHARE = 0.05;
const DEFAULT_LOG_INTERVAL_MS = 10_000;

export interface FdReserveSettings {
  /** The descriptor limit; undefined: the process's soft RLIMIT_NOFILE. */
  limit?: number;
  /** Descriptors kept for the API; undefined: 5 % of the limit, at least 32 and at most 1024. */
  reserve?: number;
  /** At most one refusal log line per this many ms. */
  logIntervalMs?: number;
}

/** The soft "Max open files" limit of this process, undefined where /proc is not available. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === undefined || soft === 'unlimited') return undefined;
    const n = Number(soft);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const FD_DIR = '/proc/self/fd';
// Linux 6.2+ gives the number of open descriptors as the size of /proc/self/fd: one stat, counted from the
// kernel's bitmap of open descriptors. Listing the directory instead builds a string per descriptor: 40 ms
// per read with 19 000 open against 10 µs for the stat (2026-12-05, kernel 6.18), and the once-a-second
// re-read near the limit was 4.5 % of the broker's busy time in a 19 k CONNECT flood. Older kernels report
// size 0 there: those keep the listing.
let sizeCounts = true;

/** Descriptors this process has open now, undefined where /proc is not available. */
function openDescriptors(): number | undefined {
  try {
    if (sizeCounts) {
      const n = statSync(FD_DIR).size;
      if (n > 0) return n;
      sizeCounts = false;
    }
    return readdirSync(FD_DIR).length;
  } catch {
    return undefined;
  }
}

export class FdBudget {
  private limit: number | undefined;
  private reserve = 0;
  private logIntervalMs = DEFAULT_LOG_INTERVAL_MS;
  private measured = 0;
  private measuredAt = Number.NEGATIVE_INFINITY;
  private admittedSince = 0;
  private refusedPending = 0;
  private lastRefusal = { listener: '', peer: '' };
  private logTimer: NodeJS.Timeout | undefined;

  constructor(settings: FdReserveSettings = {}) {
    this.configure(settings);
  }

  /** Sets the limit and reserve (tests and embedders lower them). */
  configure(settings: FdReserveSettings): void {
    this.limit = settings.limit ?? openFilesLimit();
    const limit = this.limit;
    this.reserve =
      settings.reserve ?? (limit === undefined ? 0 : Math.min(1024, Math.max(32, Math.floor(limit * 0.05))));
    this.logIntervalMs = settings.logIntervalMs ?? DEFAULT_LOG_INTERVAL_MS;
    this.measuredAt = Number.NEGATIVE_INFINITY;
  }

  /** Descriptors a broker listener may use before it refuses new connections. */
  get threshold(): number | undefined {
    return this.limit === undefined ? undefined : this.limit - this.reserve;
  }

  /** Whether a socket just accepted by broker listener `listener` may stay open; logs a refusal. */
  admit(listener: string, peer: string): boolean {
    const threshold = this.threshold;
    if (threshold === undefined) return true;
    const now = Date.now();
    const estimate = this.measured + this.admittedSince;
    const near = estimate >= threshold - Math.max(this.reserve, this.limit! * NEAR_SHARE);
    if (now - this.measuredAt >= (near ? REFRESH_MS : FAR_REFRESH_MS)) this.measure(now);
    if (this.measured + this.admittedSince > threshold && now - this.measuredAt >= RECHECK_MS)
      this.measure(now);
    if (this.measured + this.admittedSince > threshold) {
      this.refused(listener, peer);
      return false;
    }
    this.admittedSince++;
    return true;
  }

  private measure(now: number): void {
    const n = openDescriptors();
    if (n === undefined) {
      // Nothing to count with: never refuse.
      this.limit = undefined;
      return;
    }
    this.measured = n;
    this.measuredAt = now;
    this.admittedSince = 0;
  }

  private refused(listener: string, peer: string): void {
    this.lastRefusal = { listener, peer };
    if (this.logTimer !== undefined) {
      this.refusedPending++;
      return;
    }
    logger.warn(
      { listener, peer, open_fds: this.measured, limit: this.limit, reserve: this.reserve },
      'connection refused: file descriptors are reserved for the management API',
    );
    this.logTimer = setTimeout(() => this.flushLog(), this.logIntervalMs);
    this.logTimer.unref();
  }

  private flushLog(): void {
    this.logTimer = undefined;
    const n = this.refusedPending;
    if (n === 0) return;
    this.refusedPending = 0;
    logger.warn(
      {
        suppressed: n,
        last_listener: this.lastRefusal.listener,
        last_peer: this.lastRefusal.peer,
        open_fds: this.measured,
        limit: this.limit,
        reserve: this.reserve,
      },
      `connection refused: file descriptors are reserved for the management API (${n} more refusals)`,
    );
    // Keep one line per interval while the flood lasts.
    this.logTimer = setTimeout(() => this.flushLog(), this.logIntervalMs);
    this.logTimer.unref();
  }
}

/** The process-wide budget every broker listener consults. */
export const fdBudget = new FdBudget();
