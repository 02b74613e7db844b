/**
 * The router: the login page outside the layout, every other page inside it (deep links work because the
 * server answers index.html for any non-API path). Pages come from ./routes/core.ts and ./routes/extensions.ts.
 */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { setUnauthorizedHandler } from './api/client';
import { currentSession } from './api/session';
import { t } from './i18n';
import Layout from './layout/AppLayout.vue';
import Login from './pages/LoginPage.vue';
import NotFound from './pages/NotFound.vue';
import { pageRoutes } from './routes';
import { MENU_GROUPS } from './routes/meta';

/** The page `/` opens: the first menu entry. */
function home(): string {
  const menu = pageRoutes.filter((r) => r.meta?.menu !== undefined);
  const rank = (r: RouteRecordRaw) => MENU_GROUPS.indexOf(r.meta!.menu!) * 1000 + (r.meta?.order ?? 0);
  menu.sort((a, b) => rank(a) - rank(b));
  return menu[0]?.path ?? '/login';
}

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/login', name: 'login', component: Login, meta: { public: true, title: 'login.title' } },
    {
      path: '/',
      component: Layout,
      children: [
        { path: '', name: 'home', redirect: home },
        ...pageRoutes,
        {
          path: '/:pathMatch(.*)*',
          name: 'not-found',
          component: NotFound,
          meta: { title: 'error.notFound' },
        },
      ],
    },
  ],
});

router.beforeEach((to) => {
  if (to.meta.public !== true && currentSession() === undefined) {
    return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } };
  }
  return true;
});

router.afterEach((to) => {
  const title = to.meta.title;
  document.title = title === undefined ? t('app.title') : `${t(title)} · ${t('app.title')}`;
});

setUnauthorizedHandler(() => {
  const here = router.currentRoute.value;
  if (here.name !== 'login') void router.push({ name: 'login', query: { redirect: here.fullPath } });
});
