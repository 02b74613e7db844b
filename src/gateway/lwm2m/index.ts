/** The LwM2M gateway module: OMA LwM2M over udp (default port 5783) and dtls (5784). */
import { CoapCodec, type CoapMessage } from '../coap/message.js';
import type { GatewayModule } from '../types.js';
import { Lwm2mChannel } from './channel.js';
import type { DataLayer } from './data.js';
import { loadDataLayer } from './load.js';
import { lwm2mRoutes } from './routes.js';
import { type Lwm2mConfig, lwm2mDescriptor } from './schema.js';

/**
 * Data layers by `xml_dir`, loaded when the gateway starts (a definition that does not parse refuses the
 * start) or its config changes; channels and routes read the one of their config.
 */
const layers = new Map<string, DataLayer>();
/** The last one loaded: serves while a changed `xml_dir` loads (or if it failed to). */
let latest: DataLayer | undefined;

function dataFor(config: Lwm2mConfig): DataLayer | undefined {
  return layers.get(config.xml_dir) ?? latest;
}

/** Loads the definitions of a config's `xml_dir`; `reload` reads the files again even if loaded before. */
async function ensureLayer(config: Lwm2mConfig, reload: boolean): Promise<void> {
  const have = reload ? undefined : layers.get(config.xml_dir);
  latest = have ?? (await loadDataLayer(config.xml_dir));
  layers.set(config.xml_dir, latest);
}

/** The module the catalogue loads. */
export const lwm2mGateway: GatewayModule<CoapMessage, Lwm2mConfig> = {
  ...lwm2mDescriptor,
  createCodec: () => new CoapCodec(),
  createChannel: (ctx) => {
    const data = dataFor(ctx.config);
    if (data === undefined) throw new Error(`lwm2m: object definitions of ${ctx.config.xml_dir} not loaded`);
    return new Lwm2mChannel(ctx, data);
  },
  start: async (rt) => {
    await ensureLayer(rt.config, true);
    return {
      update: (config) => {
        ensureLayer(config as Lwm2mConfig, false).catch((err: unknown) =>
          rt.log.error({ err }, 'lwm2m: object definitions not loaded; the previous ones stay'),
        );
      },
      stop: () => {},
    };
  },
  routes: lwm2mRoutes(dataFor),
};
