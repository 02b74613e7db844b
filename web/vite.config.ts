/**
 * The dashboard's own Vite build: `web/` is the app, `dist/web/` the output the management server serves
 * at `/`. Kept apart from the tsgo build of src/ so `npm run build` stays fast for test runs.
 */
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./'),
  base: '/',
  plugins: [vue()],
  logLevel: 'warn',
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    // Element Plus and ECharts are large by nature; splitting them out keeps the app chunk small and cacheable.
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks(id: string): string | undefined {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus'))
            return 'element-plus';
          if (id.includes('node_modules/')) return 'vendor';
          return undefined;
        },
      },
    },
  },
  server: {
    // `npx vite web` during development: the API of a node started with `npm start`.
    proxy: { '/api': 'http://127.0.0.1:18083' },
  },
});
