#!/usr/bin/env bash
# npm run app [-- server flags]: runs the desktop shell (Electron) around the same server core as `npm start`.
# bash scripts/app.sh --bundle-only: only step 3, before packaging with `npx electron-builder`.
#   1. makes sure the Electron binary is there (package.json keeps electron's install script off, so the first
#      run fetches it);
#   2. builds better-sqlite3 for Electron's ABI, and puts the Node build back on exit so that `npm start` and
#      `npm test` keep working;
#   3. bundles main/main.ts (and the app/ core it imports) to main/dist/main.js;
#   4. starts Electron on the project, which loads main/dist/main.js through package.json "main".
# Each failure is one line on stderr and exit code 1.
set -euo pipefail
cd "$(dirname "$0")/.."

HEADLESS='`npm start` runs the same server headless, with the console at http://localhost:8000/console/'
WORK=node_modules/.cache/wsoptv-app
mkdir -p "$WORK"
fail() {
  printf 'wsoptv app: %s; %s (details: %s)\n' "$1" "$HEADLESS" "$2" >&2
  exit 1
}
# Copies without writing through hard links (node-gyp's output is hard-linked into build/Release/obj.target).
put() {
  rm -f "$2"
  cp "$1" "$2"
}

# --- 3. The main-process bundle (defined first: --bundle-only needs nothing else) ----------------------
# ESM, since package.json says "type": "module" and Electron >= 28 loads ESM mains. Packages stay external
# (electron is built in; better-sqlite3 is native; the rest ship in node_modules). Bundling app/ into
# main/dist keeps PROJECT_ROOT right: app/config's import.meta.url becomes main/dist/main.js, two levels down.
bundle() {
  node_modules/.bin/esbuild main/main.ts --bundle --platform=node --format=esm --target=node22 \
    --packages=external --sourcemap --log-level=error --outfile=main/dist/main.js 2>"$WORK/esbuild.log" ||
    fail 'the Electron main process did not build' "$WORK/esbuild.log"
}
if [ "${1:-}" = "--bundle-only" ]; then
  bundle
  echo 'wsoptv app: built main/dist/main.js'
  exit 0
fi

# --- 1. The Electron binary ------------------------------------------------------------------------------
electron_bin() {
  local bin
  bin=$(node -e 'process.stdout.write(require("electron"))' 2>/dev/null) && [ -x "$bin" ] && printf '%s' "$bin"
}
if ! ELECTRON=$(electron_bin); then
  # Electron's own installer, once; bounded, since a blocked download host can hang instead of refusing.
  if ! timeout 60 node node_modules/electron/install.js >"$WORK/electron-install.log" 2>&1 || ! ELECTRON=$(electron_bin); then
    fail 'the Electron binary could not be downloaded (no network access to its download host)' "$WORK/electron-install.log"
  fi
fi

# --- 2. better-sqlite3 for Electron's ABI ----------------------------------------------------------------
# The binary is built for one ABI at a time. Both builds are kept in $WORK, keyed by version and ABI, and the
# Node one goes back when the app exits.
NATIVE=node_modules/better-sqlite3/build/Release/better_sqlite3.node
# @electron/rebuild skips a module whose marker names the target ABI, whatever binary is really there.
REBUILD_MARKER=node_modules/better-sqlite3/build/Release/.forge-meta
SQLITE_VERSION=$(node -p 'require("better-sqlite3/package.json").version')
NODE_ABI=$(node -p 'process.versions.modules')
ELECTRON_ABI=$(ELECTRON_RUN_AS_NODE=1 "$ELECTRON" -p 'process.versions.modules' 2>"$WORK/electron-abi.log") ||
  fail 'the Electron binary does not run on this machine (missing system libraries?)' "$WORK/electron-abi.log"
NODE_BUILD="$WORK/better_sqlite3-$SQLITE_VERSION-abi$NODE_ABI.node"
ELECTRON_BUILD="$WORK/better_sqlite3-$SQLITE_VERSION-abi$ELECTRON_ABI.node"
loads_in_node() { node -e 'new (require("better-sqlite3"))(":memory:").close()' 2>/dev/null; }
if loads_in_node; then put "$NATIVE" "$NODE_BUILD"; fi
restore_node_build() {
  if [ -f "$NODE_BUILD" ]; then put "$NODE_BUILD" "$NATIVE"; fi
  rm -f "$REBUILD_MARKER"
}
trap restore_node_build EXIT
# Ctrl-C reaches Electron too (same process group); exiting through the traps still restores the Node build.
trap 'exit 130' INT
trap 'exit 143' TERM
# Removed first so that no rebuild writes into the hard-linked Node build, or skips on a stale marker.
rm -f "$NATIVE" "$REBUILD_MARKER"
if [ -f "$ELECTRON_BUILD" ]; then
  cp "$ELECTRON_BUILD" "$NATIVE"
elif ! npx --no-install electron-builder install-app-deps >"$WORK/install-app-deps.log" 2>&1; then
  fail "better-sqlite3 could not be rebuilt for Electron's ABI (electron-builder install-app-deps needs network access to download Electron headers or a prebuilt binary)" "$WORK/install-app-deps.log"
elif [ "$ELECTRON_ABI" != "$NODE_ABI" ] && loads_in_node; then
  # node-gyp built against Node's own headers, as it does when npm's `nodedir` setting points at them.
  fail "better-sqlite3 was rebuilt for Node's ABI $NODE_ABI, not Electron's $ELECTRON_ABI (is npm's nodedir setting pointing node-gyp at Node's headers?)" "$WORK/install-app-deps.log"
else
  put "$NATIVE" "$ELECTRON_BUILD"
fi

# --- 3. (see above) ---------------------------------------------------------------------------------------
bundle

# --- 4. Run --------------------------------------------------------------------------------------------
# Not exec: the EXIT trap must run after Electron to put the Node build of better-sqlite3 back.
# `--` ends Chromium's switches; the shell reads the server flags after it.
status=0
"$ELECTRON" . -- "$@" || status=$?
exit "$status"
