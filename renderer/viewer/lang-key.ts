// Where the viewer remembers the chosen language, and the languages it speaks: read by i18n.ts, and by the
// watch page's head start (head-start.ts), which runs before any module and so gets both from the build.
export const LANG_KEY = 'wsoptv.lang';
export const LANG_IDS = ['ko', 'en'] as const;
