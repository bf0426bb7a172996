/**
 * Debian's Chromium and the flags every headless run here uses: the browser suite (playwright.config.ts),
 * the screenshot scripts and the ttff bench. No imports, so anything can take it, DOM types or not.
 * Never `npx playwright install`: scripts/require-tools.sh installs Debian's package.
 */

/** Debian's Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, deterministic headless run that may autoplay. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--autoplay-policy=no-user-gesture-required',
];
