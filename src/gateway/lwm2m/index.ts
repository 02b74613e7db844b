/** The LwM2M gateway module: OMA LwM2M over udp (default port 5783) and dtls (5784). */
import { CoapCodec, type CoapMessage } from '../coap/message.js';
import type { GatewayModule } from '../types.js';
import { Lwm2mChannel } from './channel.js';
import { dataFor, loadedLayer, setLayer } from './layers.js';
import { loadDataLayer } from './load.js';
import { lwm2mApiRoutes } from './routes.js';
import { type Lwm2mConfig, lwm2mDescriptor } from './schema.js';

/**
 * Loads the definitions of a config's `xml_dir` (when the gateway starts, where a definition that does not
 * parse refuses the start, or when its config changes); `reload` reads the files again even if loaded before.
 */
async function ensureLayer(config: Lwm2mConfig, reload: boolean): Promise<void> {
  const have = reload ? undefined : loadedLayer(config.xml_dir);
  setLayer(config.xml_dir, have ?? (await loadDataLayer(config.xml_dir)));
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
  routes: lwm2mApiRoutes,
};
