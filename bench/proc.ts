/** Broker CPU and memory from /proc (Linux): what `top` would show, read without extra processes. */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (CONFIG_HZ userspace value, 100 on Linux). */
const CLK_TCK = 100;

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may contain spaces and parentheses: fields count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/**
 * CPU seconds of every thread of a process from /proc/<pid>/task/<tid>/schedstat (nanoseconds, where
 * /proc/<pid>/stat counts 10 ms ticks: too coarse for short windows).
 */
export function threadsCpuSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e9;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Busy and total time of all CPUs so far, seconds (/proc/stat). */
export function systemCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3] + f[4];
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** Seconds CPU `cpu` has spent running tasks (user + nice + system; interrupts not included). */
export function coreTaskSeconds(cpu: number): number {
  const stat = readFileSync('/proc/stat', 'latin1');
  const at = stat.indexOf(`\ncpu${cpu} `);
  if (at < 0) return 0;
  const f = stat.slice(at + 1, stat.indexOf('\n', at + 1)).split(' ');
  return (Number(f[1]) + Number(f[2]) + Number(f[3])) / CLK_TCK;
}

/** Samples a process over a window: CPU share between start() and stop(), RSS every `everyMs`. */
export class ProcSampler {
  private cpu0 = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | undefined;
  private rssSum = 0;
  private rssCount = 0;
  private rssMax = 0;

  constructor(
    readonly pid: number,
    private readonly everyMs = 500,
  ) {}

  start(): void {
    this.cpu0 = cpuSeconds(this.pid);
    this.t0 = performance.now();
    this.rssSum = 0;
    this.rssCount = 0;
    this.rssMax = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  /** CPU as % of one core (all threads), RSS average and peak in bytes, over the window. */
  stop(): { cpuPercent: number; rssAvg: number; rssMax: number } {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    const wall = (performance.now() - this.t0) / 1000;
    const cpu = cpuSeconds(this.pid) - this.cpu0;
    return {
      cpuPercent: wall > 0 ? (100 * cpu) / wall : 0,
      rssAvg: this.rssCount > 0 ? this.rssSum / this.rssCount : 0,
      rssMax: this.rssMax,
    };
  }

  private sample(): void {
    try {
      const rss = rssBytes(this.pid);
      this.rssSum += rss;
      this.rssCount++;
      if (rss > this.rssMax) this.rssMax = rss;
    } catch {
      // The process may have died; the run will report that.
    }
  }
}

/** CLOCK_MONOTONIC in µs: the time base of V8 CPU profiles, shared by every process on the machine. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * How much of a core went to tasks other than ours over a window: another process on the broker's or the
 * loader's core disturbs the measurement. (A process's own helper threads, such as V8's GC threads, count as
 * its own.)
 */
export class CoreWatch {
  private core0 = 0;
  private own0 = 0;
  private t0 = 0;

  constructor(
    readonly cpu: number,
    /** CPU seconds of the process(es) that belong on this core. */
    private readonly own: () => number,
  ) {}

  start(): this {
    this.core0 = coreTaskSeconds(this.cpu);
    this.own0 = this.own();
    this.t0 = performance.now();
    return this;
  }

  /** % of the window the core ran other tasks. */
  stop(): number {
    const wall = (performance.now() - this.t0) / 1000;
    const other = coreTaskSeconds(this.cpu) - this.core0 - (this.own() - this.own0);
    return wall > 0 ? Math.max(0, (100 * other) / wall) : 0;
  }
}

/** CPU seconds (all threads) of this process. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
