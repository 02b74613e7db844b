/** Hermod's public API for embedding and for plugins. */
export { Broker, NEVER_EXPIRE } from './broker/broker.js';
export type { HookPoint, HookSpecs } from './broker/hooks.js';
export { HookPriority, Hooks, STOP } from './broker/hooks.js';
export { Message } from './broker/message.js';
export type * from './broker/types.js';
export { defaultConfig, resolveConfig } from './config/resolve.js';
export type { HermodConfig } from './config/schema/index.js';
export { HermodNode } from './node.js';
export { VERSION } from './version.js';
