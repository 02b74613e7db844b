/** English strings of the Extensions pages (Gateways, ExHook, Plugins). */
export default {
  menu: { gateways: 'Gateways', exhook: 'ExHook', plugins: 'Plugins' },
};
