// Where the viewer remembers the chosen language: read by i18n.ts, and by the watch page's head start
// (head-start.ts), which runs before any module and so gets it from the build.
export const LANG_KEY = 'wsoptv.lang';
