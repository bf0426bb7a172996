/**
 * The wire contract shared by the server and the web UIs: response shapes, the console's event map and
 * the constants both sides need. It imports types only, so it bundles into a browser page unchanged.
 */
export * from './constants.ts';
export type * from './wire.ts';
export type * from './events.ts';
