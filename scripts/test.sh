#!/usr/bin/env bash
# npm test: type-check, then every test (unit, HTTP, browser) under one coverage run of app/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/require-tools.sh chromium

echo "Type-checking..."
npx tsc -p tsconfig.json

shopt -s nullglob
files=(test/*.test.ts e2e/*.test.ts)
if [ "${1:-}" = "--e2e-only" ]; then files=(e2e/*.test.ts); fi

# c8 reads the V8 coverage of every test process and maps it back to the TypeScript through tsx's source maps.
npx c8 --include 'app/**' --all --reporter text-summary --reporter text \
  --check-coverage --lines 85 \
  node --enable-source-maps --import tsx --test --test-reporter spec "${files[@]}"
