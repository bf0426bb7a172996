/**
 * The range tests of stream-range-http.test.ts again, on servers started with `--sendfile off`: the bodies
 * are read into pooled buffers and written, as on platforms without sendfile(2) or where the addon is not
 * built. The default run of that file covers the sendfile path.
 */
process.env.WSOPTV_TEST_BODIES = 'copy';
await import('./stream-range-http.test.ts');
