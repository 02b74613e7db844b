/**
 * `node --import <this file> …` makes a process write every module URL it resolves (every ESM import, static
 * or dynamic, and the entry file of each CommonJS package imported from ESM) to the file named by
 * HERMOD_TEST_MODULE_TRACE, one per line: what a test reads to see which packages a Hermod process loaded.
 * Files a CommonJS package requires internally are not listed (the package's entry is).
 */
import { register } from 'node:module';

register(new URL('./module-trace-hooks.js', import.meta.url));
