#!/usr/bin/env bash
# npm test: type-check, then every test (unit, HTTP, browser) under one coverage run of app/.
# `npm run e2e` runs only the browser tests (no coverage bar: they alone do not cover app/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/require-tools.sh chromium ffmpeg

echo "Type-checking..."
npx tsc -p tsconfig.json

shopt -s nullglob
files=(test/*.test.ts e2e/*.test.ts)
gate=(--check-coverage --lines 85)
if [ "${1:-}" = "--e2e-only" ]; then
  files=(e2e/*.test.ts)
  gate=()
fi

# c8 reads the V8 coverage of every test process and maps it back to the TypeScript through tsx's source maps.
npx c8 --all --include 'app/**' --reporter text-summary --reporter text "${gate[@]}" \
  node --enable-source-maps --import tsx --test --test-reporter spec "${files[@]}"
