/** Hermod's public API for embedding and for plugins. */

export type { Authenticator, AuthnProvider } from './access/authn/types.js';
export type { AuthzSource, AuthzSourceProvider } from './access/authz/types.js';
export { Broker, NEVER_EXPIRE } from './broker/broker.js';
export type { FoldReturn, HookCallback, HookPoint, HookSpecs, NotifyReturn } from './broker/hooks.js';
export { HookPriority, Hooks, STOP } from './broker/hooks.js';
export { Message } from './broker/message.js';
export type * from './broker/types.js';
export { defaultConfig, resolveConfig } from './config/resolve.js';
export type { HermodConfig } from './config/schema/index.js';
export { HermodNode } from './node.js';
export type {
  HermodPlugin,
  PluginApi,
  PluginControl,
  PluginCtlCommand,
  PluginHttpRequest,
  PluginHttpResponse,
  PluginMetrics,
  PluginNodeFacts,
  PluginPublishOptions,
  PluginRouteHandler,
  PluginSummary,
} from './plugins/api.js';
export type { ReleaseInfo } from './plugins/package.js';
export { VERSION } from './version.js';
