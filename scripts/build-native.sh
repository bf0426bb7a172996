#!/usr/bin/env bash
# Builds the sendfile addon (app/stream/native) with node-gyp against Node's own headers; `npm install`
# runs this. Without the addon the server still works: it reads video bodies and writes them (more CPU
# per byte, the same bytes) and says so in its start-up log.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=app/stream/native
if [ "$(uname -s)" != Linux ]; then
  echo "sendfile addon: not built (sendfile(2) is Linux only); video bodies will be copied"
  exit 0
fi
gyp=(node-gyp)
[ -n "${npm_config_node_gyp:-}" ] && gyp=(node "$npm_config_node_gyp")
if "${gyp[@]}" rebuild --directory "$dir" >"$dir/build.log" 2>&1; then
  echo "sendfile addon: built ($dir/build/Release/wsoptv_sendfile.node)"
else
  echo "sendfile addon: build failed, see $dir/build.log (needs python3, make and a C compiler); video bodies will be copied"
fi
