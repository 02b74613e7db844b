/** Lets strict .ts modules import single-file components (their types are not checked here). */
declare module '*.vue' {
  import type { DefineComponent } from 'vue';

  const component: DefineComponent<object, object, unknown>;
  export default component;
}

/** Style sheets are bundled by Vite. */
declare module '*.css';
