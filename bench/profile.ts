/**
 * Summary of a V8 CPU profile (`node --cpu-prof`): the functions with the most self time and the source
 * files they live in, as a Markdown fragment.
 *
 *   node dist/bench/profile.js bench/results/<file>.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  selfShare: number;
  totalShare: number;
}

const maps = new Map<string, SourceMap | undefined>();

/** The source map next to a compiled file (dist/…/x.js.map), if any. */
function mapFor(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = undefined;
    }
    maps.set(file, map);
  }
  return maps.get(file);
}

/** file:line of a frame, mapped back to the TypeScript source when a source map is there. */
function where(cf: CallFrame, root: string): string {
  if (cf.url === '') return '';
  if (!cf.url.startsWith('file://')) return `${cf.url}:${cf.lineNumber + 1}`;
  const file = fileURLToPath(cf.url);
  const entry = mapFor(file)?.findEntry(cf.lineNumber, cf.columnNumber);
  if (entry !== undefined && 'originalSource' in entry && entry.originalSource !== undefined) {
    const src = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : resolve(dirname(file), entry.originalSource);
    return `${relative(root, src)}:${entry.originalLine + 1}`;
  }
  return `${relative(root, file)}:${cf.lineNumber + 1}`;
}

/**
 * Self and inclusive time per function (by name and place), most self time first; only samples taken within
 * `windowUs` (CLOCK_MONOTONIC µs, the profile's own clock) when given.
 */
export function summarize(
  path: string,
  root: string,
  windowUs?: [number, number],
): { entries: ProfileEntry[]; totalMs: number; idleMs: number } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (windowUs !== undefined && (t < windowUs[0] || t > windowUs[1])) continue;
    const id = p.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const key = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'}\u0000${where(n.callFrame, root)}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    all += us;
    if (n.callFrame.functionName === '(idle)') idle += us;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + us);
    // Inclusive time: once per function on the stack, however often it recurses.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = key(byId.get(cur)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + us);
    }
  }
  const busy = all - idle;
  const entries = [...self.entries()]
    .filter(([k]) => !k.startsWith('(idle)'))
    .map(([k, us]) => {
      const [name, at] = k.split('\u0000');
      return {
        name,
        where: at,
        selfMs: us / 1000,
        selfShare: us / busy,
        totalShare: (total.get(k) ?? 0) / busy,
      };
    })
    .sort((a, b) => b.selfMs - a.selfMs);
  return { entries, totalMs: all / 1000, idleMs: idle / 1000 };
}

/** Markdown: the top functions by self time, then self time per source file. */
export function renderProfile(path: string, root: string, top = 30, windowUs?: [number, number]): string {
  const { entries, totalMs, idleMs } = summarize(path, root, windowUs);
  const busy = totalMs - idleMs;
  const out: string[] = [];
  out.push(
    `Profile \`${relative(root, path)}\`${windowUs !== undefined ? ' (measured phase only)' : ''}: ` +
      `${(totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy ` +
      `(${((100 * busy) / totalMs).toFixed(0)} %). Shares are of busy time.`,
    '',
    '| # | self % | incl. % | function | where |',
    '|---:|---:|---:|---|---|',
  );
  entries.slice(0, top).forEach((e, i) => {
    out.push(
      `| ${i + 1} | ${(100 * e.selfShare).toFixed(1)} | ${(100 * e.totalShare).toFixed(1)} | \`${e.name}\` | ${e.where || '(native)'} |`,
    );
  });
  const byFile = new Map<string, number>();
  for (const e of entries) {
    const file = e.where === '' ? '(native / VM)' : e.where.replace(/:\d+$/, '');
    const group = file.startsWith('node:') ? 'node: (core modules)' : file;
    byFile.set(group, (byFile.get(group) ?? 0) + e.selfShare);
  }
  out.push('', '| self % | file |', '|---:|---|');
  for (const [f, s] of [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    out.push(`| ${(100 * s).toFixed(1)} | ${f} |`);
  }
  return out.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node dist/bench/profile.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(renderProfile(file, process.cwd(), Number(process.argv[3] ?? 30)));
}
