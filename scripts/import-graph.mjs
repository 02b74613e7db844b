#!/usr/bin/env node
// Draws the import graph of src/ from the TypeScript sources, grouped by folder (one node per layer), so the
// one-way flow described in docs/architecture.md can be checked against the code.
//
//   node scripts/import-graph.mjs            Mermaid flowchart (paste into Markdown)
//   node scripts/import-graph.mjs --dot      Graphviz DOT; render with: ... --dot | dot -Tsvg > graph.svg
//   node scripts/import-graph.mjs --files    one node per file instead of per folder (DOT)
//   node scripts/import-graph.mjs --check    lists imports that go up the layer order; exit 1 if any
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', 'src');
const args = new Set(process.argv.slice(2));

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// Static imports and re-exports, type-only ones included (they are part of the design's dependencies).
const IMPORT = /^\s*(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;

/** The layer a file belongs to: its first folder under src/, or a name for the root files. */
function layer(file) {
  const rel = relative(root, file).split('/');
  // The MQTT codec is a wire-format library below the broker (which uses its QoS and property types).
  if (rel[0] === 'mqtt' && rel[1] === 'codec') return 'mqtt_codec';
  if (rel.length > 1) return rel[0];
  const base = rel[0].replace(/\.ts$/, '');
  if (base === 'node' || base === 'index') return base;
  // Applying log config at start-up sits with the node's start path, not with the logger everyone uses.
  if (base === 'log-setup') return 'node';
  return 'base'; // log.ts, version.ts: used by every layer
}

/** Layers from top to bottom, as docs/architecture.md lists them; imports may only point down. */
const ORDER = [
  ['cli', 'index'],
  ['node'],
  ['mgmt'],
  ['cluster'],
  ['exhook', 'plugins'],
  ['mqtt', 'gateway'],
  ['access'],
  ['broker'],
  ['mqtt_codec', 'transport', 'store'],
  ['config'],
  ['base'],
];
const rank = new Map(ORDER.flatMap((group, i) => group.map((l) => [l, i])));

// Known edges against the order, each with its reason. The root config schema composes `gateway.<name>` from
// the gateway catalogue; the catalogue and each gateway's schema.ts hold schema and descriptors only and load
// the gateway's code lazily (dynamic import), so validating a config never loads a channel or codec.
const ALLOWED = new Set(['config/schema/gateway.ts\tgateway/catalog.ts']);

const files = walk(root);
const fileEdges = new Set();
const layerEdges = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    const target = resolve(dirname(f), spec).replace(/\.js$/, '.ts');
    const from = relative(root, f);
    const to = relative(root, target);
    fileEdges.add(`${from}\t${to}`);
    const a = layer(f);
    const b = layer(target);
    if (ALLOWED.has(`${from}\t${to}`)) continue;
    if (a !== b) layerEdges.set(`${a}\t${b}`, (layerEdges.get(`${a}\t${b}`) ?? 0) + 1);
  }
}

const pairs = [...layerEdges.entries()].map(([k, n]) => [...k.split('\t'), n]).sort();
// Unknown layers rank last, so a new top-level folder shows up until it is placed in ORDER.
const up = pairs.filter(([a, b]) => (rank.get(a) ?? ORDER.length) >= (rank.get(b) ?? ORDER.length));

if (args.has('--check')) {
  for (const [a, b, n] of up) console.log(`${a} -> ${b}: ${n} import(s) against the layer order`);
  process.exit(up.length > 0 ? 1 : 0);
}
if (args.has('--files')) {
  console.log('digraph imports {\n  rankdir=LR;\n  node [shape=box, fontsize=10];');
  for (const e of [...fileEdges].sort()) {
    const [a, b] = e.split('\t');
    console.log(`  "${a}" -> "${b}";`);
  }
  console.log('}');
} else if (args.has('--dot')) {
  console.log('digraph layers {\n  rankdir=TB;\n  node [shape=box];');
  for (const [a, b, n] of pairs) {
    const back = up.some(([x, y]) => x === a && y === b) ? ', color=red' : '';
    console.log(`  "${a}" -> "${b}" [label="${n}"${back}];`);
  }
  console.log('}');
} else {
  console.log('flowchart TD');
  for (const [a, b, n] of pairs) console.log(`  ${a} -->|${n}| ${b}`);
}
