/** Entry point: Element Plus, the strings, the router, and the global error hooks. */
import ElementPlus from 'element-plus';
import 'element-plus/dist/index.css';
import { createApp } from 'vue';
import App from './App.vue';
import { reportPageError } from './errors';
import { i18n } from './i18n';
import { router } from './router';
import './style.css';

const app = createApp(App);
app.config.errorHandler = (err) => reportPageError(err);
router.onError((err) => reportPageError(err));
app.use(ElementPlus).use(i18n).use(router);
app.mount('#app');
