/**
 * Sizes libuv's thread pool before anything uses it; import this module first. Every file read, open,
 * stat and realpath of every stream goes through the pool, whose default of 4 threads made a seek wait
 * behind a hundred viewers' reads (docs/performance.md). An operator's own UV_THREADPOOL_SIZE wins.
 * This is the one place besides the configuration that touches `process.env`: it must act before the
 * configuration can be read.
 */
process.env.UV_THREADPOOL_SIZE ??= '32';
