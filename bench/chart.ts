/**
 * One PNG bar chart per scenario (its main metric, a bar per broker and variant), drawn into an RGB bitmap
 * with a built-in 5×7 font and encoded with node:zlib: no image library needed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Report } from './report.js';
import { LOWER_IS_BETTER, SCENARIOS } from './scenarios.js';
import type { RunResult } from './types.js';

type RGB = [number, number, number];

class Bitmap {
  readonly px: Buffer;
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    this.px = Buffer.alloc(w * h * 3, 255);
  }

  rect(x0: number, y0: number, w: number, h: number, c: RGB): void {
    const x1 = Math.min(this.w, Math.round(x0 + w));
    const y1 = Math.min(this.h, Math.round(y0 + h));
    for (let y = Math.max(0, Math.round(y0)); y < y1; y++) {
      for (let x = Math.max(0, Math.round(x0)); x < x1; x++) {
        const i = (y * this.w + x) * 3;
        this.px[i] = c[0];
        this.px[i + 1] = c[1];
        this.px[i + 2] = c[2];
      }
    }
  }

  /** Text with its top-left corner at (x, y), `scale` pixels per font dot. */
  text(x: number, y: number, s: string, c: RGB, scale = 2): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = GLYPHS[ch] ?? GLYPHS['?'];
      for (let row = 0; row < 7; row++) {
        for (let col = 0; col < 5; col++) {
          if (g[row][col] === '#') this.rect(cx + col * scale, y + row * scale, scale, scale, c);
        }
      }
      cx += 6 * scale;
    }
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.w * 3 + 1) * this.h);
    for (let y = 0; y < this.h; y++) {
      raw[y * (this.w * 3 + 1)] = 0; // filter: none
      this.px.copy(raw, y * (this.w * 3 + 1) + 1, y * this.w * 3, (y + 1) * this.w * 3);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.w, 0);
    ihdr.writeUInt32BE(this.h, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // colour type RGB
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

export const textWidth = (s: string, scale = 2) => s.length * 6 * scale - scale;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length, 0);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td), 0);
  return Buffer.concat([len, td, crc]);
}

const COLORS: Record<string, RGB> = {
  hermod: [43, 108, 176],
  aedes: [221, 107, 32],
  mosquitto: [56, 161, 105],
};
const INK: RGB = [40, 40, 40];
const GRID: RGB = [225, 225, 225];
const MUTED: RGB = [140, 140, 140];

/** A compact number: 1.2M, 250K, 42, 3.5. */
function compact(n: number): string {
  if (n === 0) return '0';
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}K`;
  if (n >= 10) return n.toFixed(0);
  return n.toFixed(n >= 1 ? 1 : 2);
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function value(r: RunResult, metric: string): number | undefined {
  if (r.status !== 'ok') return undefined;
  if (metric === 'p99') return r.latency?.p99;
  return (r as unknown as Record<string, number | undefined>)[metric];
}

/** One bar of a grouped bar chart: a value, or a tag (N/A, FAILED, ...) drawn where the bar would be. */
export interface Bar {
  value?: number;
  tag?: string;
}

export interface BarChart {
  title: string;
  /** The unit line under the title, e.g. 'deliveries/s (higher is better)'. */
  unit: string;
  /** Broker names (colours) and their labels, in legend and bar order. */
  brokers: Array<{ name: string; label: string }>;
  /** One group of bars per label (a variant, or a point of a curve). */
  groups: Array<{ label: string; bars: Record<string, Bar | undefined> }>;
}

/** Draws a grouped bar chart (a bar per broker in each group) as a PNG. */
export function barChartPng(c: BarChart): Buffer {
  const W = 900;
  const H = 460;
  const left = 80;
  const right = 20;
  const top = 70;
  const bottom = 60;
  const img = new Bitmap(W, H);
  img.text(left, 14, c.title, INK, 2);
  img.text(left, 40, c.unit, MUTED, 2);
  // Legend, right-aligned on the unit line, or on the title line when the unit is too long to share its line.
  const legendW = c.brokers.reduce((w, b) => w + textWidth(b.label) + 24, 0);
  const ly = left + textWidth(c.unit) + 16 > W - right - legendW ? 14 : 42;
  let lx = W - right;
  for (const b of [...c.brokers].reverse()) {
    lx -= textWidth(b.label) + 24;
    img.rect(lx, ly, 12, 12, COLORS[b.name] ?? INK);
    img.text(lx + 16, ly, b.label, INK, 2);
  }
  const vals = c.groups.flatMap((g) => c.brokers.map((b) => g.bars[b.name]?.value));
  const max = niceMax(Math.max(0, ...vals.filter((n): n is number => n !== undefined)));
  const plotH = H - top - bottom;
  const plotW = W - left - right;
  for (let k = 0; k <= 5; k++) {
    const y = top + plotH - (plotH * k) / 5;
    img.rect(left, y, plotW, 1, GRID);
    const label = compact((max * k) / 5);
    img.text(left - 8 - textWidth(label), y - 7, label, MUTED, 2);
  }
  img.rect(left, top + plotH, plotW, 2, INK);
  const n = c.brokers.length;
  const groupW = plotW / Math.max(1, c.groups.length);
  const barW = Math.min(80, (groupW * 0.75) / n);
  c.groups.forEach((g, gi) => {
    const gx = left + gi * groupW + (groupW - barW * n) / 2;
    c.brokers.forEach((b, bi) => {
      const x0 = gx + bi * barW;
      const bar = g.bars[b.name];
      const val = bar?.value;
      if (val === undefined) {
        const tag = bar?.tag ?? '';
        if (tag !== '')
          img.text(x0 + (barW - textWidth(tag, 1)) / 2, top + plotH - 12, tag, [200, 30, 30], 1);
        return;
      }
      const h = (plotH * val) / max;
      img.rect(x0 + 2, top + plotH - h, barW - 4, h, COLORS[b.name] ?? INK);
      const label = compact(val);
      const scale = textWidth(label, 2) <= barW ? 2 : 1;
      img.text(x0 + (barW - textWidth(label, scale)) / 2, top + plotH - h - 8 * scale - 2, label, INK, scale);
    });
    img.text(left + gi * groupW + (groupW - textWidth(g.label)) / 2, top + plotH + 14, g.label, INK, 2);
  });
  return img.png();
}

/** Writes bench/results/<day>-<scenario>.png for every scenario with results; returns the paths. */
export function writeCharts(dir: string, day: string, rep: Report): string[] {
  const written: string[] = [];
  const brokers = rep.brokers.map((b) => ({ name: b.name, label: b.label }));
  for (const sc of SCENARIOS) {
    const variants = sc.variants.filter((v) => rep.results.some((r) => r.variant === v.id));
    if (variants.length === 0) continue;
    const m = sc.primary.metric;
    const unit = m === 'p99' ? 'P99 LATENCY MS' : sc.primary.label;
    const better = LOWER_IS_BETTER.has(m) ? 'lower is better' : 'higher is better';
    const png = barChartPng({
      title: `${sc.id}: ${sc.title.split(':')[0]}`,
      unit: `${unit} (${better})`,
      brokers,
      groups: variants.map((v) => ({
        label: v.id.slice(sc.id.length + 1),
        bars: Object.fromEntries(
          brokers.map((b) => {
            const r = rep.results.find((x) => x.variant === v.id && x.broker === b.name);
            if (r === undefined) return [b.name, undefined];
            const val = value(r, m);
            const tag = r.status === 'unsupported' ? 'N/A' : r.status.toUpperCase();
            return [b.name, val === undefined ? { tag } : { value: val }];
          }),
        ),
      })),
    });
    const path = join(dir, `${day}-${sc.id}.png`);
    writeFileSync(path, png);
    written.push(path);
  }
  return written;
}

// 5×7 dot font: upper case, digits and the punctuation the charts use (lower case is drawn upper case).
const FONT: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '%': '##..# ##..# ...#. ..#.. .#... #..## #..##',
  '-': '..... ..... ..... ##### ..... ..... .....',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '×': '..... #...# .#.#. ..#.. .#.#. #...# .....',
  '→': '..... ..#.. ...#. ##### ...#. ..#.. .....',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  $: '..#.. .#### #.#.. .###. ..#.# ####. ..#..',
  _: '..... ..... ..... ..... ..... ..... #####',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  // µ (micro), under the key its toUpperCase() gives (Greek capital mu).
  Μ: '..... #...# #...# #...# ##.## #.#.. #....',
};

const GLYPHS: Record<string, string[]> = Object.fromEntries(
  Object.entries(FONT).map(([k, v]) => [k, v.split(' ')]),
);
