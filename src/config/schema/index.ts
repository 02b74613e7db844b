/**
 * The root config schema: one place that lists every section. A component adds its section here and
 * gets validation, defaults, environment overrides and docs for free.
 */
import { type Static, type StaticDecode, Type } from '@sinclair/typebox';
import { AlarmSchema } from './alarm.js';
import { AuthenticationSchema } from './authn.js';
import { AuthorizationSchema } from './authz.js';
import { AutoSubscribeSchema } from './auto-subscribe.js';
import { ClusterSchema } from './cluster.js';
import { ApiKeySchema, DashboardSchema } from './dashboard.js';
import { DurabilitySchema } from './durability.js';
import { ExhookSchema } from './exhook.js';
import { FlappingDetectSchema } from './flapping.js';
import { GatewaySchema } from './gateway.js';
import { ListenersSchema } from './listeners.js';
import { MqttSchema } from './mqtt.js';
import { LogSchema, NodeSchema } from './node.js';
import { PluginsSchema } from './plugins.js';
import { PskAuthenticationSchema } from './psk.js';
import { RetainerSchema } from './retainer.js';
import { SysTopicsSchema } from './sys.js';

export const RootSchema = Type.Object(
  {
    node: NodeSchema,
    cluster: ClusterSchema,
    mqtt: MqttSchema,
    listeners: ListenersSchema,
    retainer: RetainerSchema,
    durability: DurabilitySchema,
    sys_topics: SysTopicsSchema,
    log: LogSchema,
    dashboard: DashboardSchema,
    api_key: ApiKeySchema,
    exhook: ExhookSchema,
    gateway: GatewaySchema,
    authentication: AuthenticationSchema,
    authorization: AuthorizationSchema,
    flapping_detect: FlappingDetectSchema,
    alarm: AlarmSchema,
    plugins: PluginsSchema,
    auto_subscribe: AutoSubscribeSchema,
    psk_authentication: PskAuthenticationSchema,
  },
  { additionalProperties: false, default: {} },
);

/** The config as the program uses it: durations in ms, sizes in bytes, binds as {host, port}. */
export type HermodConfig = StaticDecode<typeof RootSchema>;
/** The config as written in files and returned by the API. */
export type HermodConfigRaw = Static<typeof RootSchema>;
export type MqttConfig = HermodConfig['mqtt'];
export type RetainerConfig = HermodConfig['retainer'];
export type DurabilityConfig = HermodConfig['durability'];
export type SysTopicsConfig = HermodConfig['sys_topics'];
export type DashboardConfig = HermodConfig['dashboard'];
export type ClusterConfig = HermodConfig['cluster'];
