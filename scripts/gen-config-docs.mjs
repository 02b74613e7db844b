#!/usr/bin/env node
// Writes docs/config.md from the config schema. Run through `npm run docs:config`, which builds first.
import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from '../dist/src/config/docs.js';

const target = new URL('../docs/config.md', import.meta.url);
writeFileSync(target, renderConfigDocs());
console.log('wrote docs/config.md');
