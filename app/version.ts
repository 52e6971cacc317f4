/** The app's version, injected at build time from package.json (falls back for tests). */
declare const __STUDIO_VERSION__: string | undefined;

export const VERSION: string = typeof __STUDIO_VERSION__ === 'string' ? __STUDIO_VERSION__ : '0.0.0-dev';
