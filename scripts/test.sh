#!/usr/bin/env bash
# npm test: type-check, build the web UIs, then every test (unit, HTTP, browser) under one coverage run of app/.
# `npm run e2e` runs only the browser tests (no coverage bar: they alone do not cover app/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/require-tools.sh chromium ffmpeg

echo "Type-checking the server, the web UIs and the browser tests..."
npx tsc -p tsconfig.json
npx tsc -p renderer
npx tsc -p e2e

# The browser tests and the shell's test load the built pages: build them from the sources under test.
echo "Building the web UIs..."
npx vite build

shopt -s nullglob
files=(test/*.test.ts e2e/*.test.ts)
gate=(--check-coverage --lines 85)
if [ "${1:-}" = "--e2e-only" ]; then
  files=(e2e/*.test.ts)
  gate=()
fi

# c8 reads the V8 coverage of every test process and maps it back to the TypeScript through tsx's source maps.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx c8 --all --include 'app/**' --reporter text-summary --reporter text "${gate[@]}" \
  node --enable-source-maps --import tsx --test --test-reporter spec "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The runner's own totals sit above the coverage table; repeat them as the last line.
passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -1)
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
