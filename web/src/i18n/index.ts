/**
 * The dashboard's strings. Each area keeps its English strings in its own file under ./en/; a second
 * language adds a sibling folder with the same shape and one entry in `messages`.
 */
import { createI18n } from 'vue-i18n';
import common from './en/common';
import core from './en/core';
import extensions from './en/extensions';

const en = { ...common, ext: extensions, core };

export type Messages = typeof en;

export const i18n = createI18n<[Messages], 'en', false>({
  legacy: false,
  locale: 'en',
  fallbackLocale: 'en',
  messages: { en },
});

/** `t` outside components (API client, router guards). */
export const t = (key: string, values?: Record<string, unknown>): string =>
  values === undefined ? i18n.global.t(key) : i18n.global.t(key, values);
