/** Entry point: Element Plus, the strings, the router, and the global error hooks. */
import { createApp } from 'vue';
import App from './App.vue';
import { useElementPlus } from './element-plus';
import { reportPageError } from './errors';
import { i18n } from './i18n';
import { router } from './router';
import './style.css';

const app = createApp(App);
app.config.errorHandler = (err) => reportPageError(err);
router.onError((err) => reportPageError(err));
useElementPlus(app);
app.use(i18n).use(router);
app.mount('#app');
