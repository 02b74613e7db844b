#!/usr/bin/env node
// Entry point of the `hermod` command; the code lives in dist/ (built by `npm install`).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
