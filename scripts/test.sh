#!/usr/bin/env bash
# npm test: type-check, build the web UIs, the unit and HTTP tests (node:test, with the line coverage bar of
# app/), then the browser suite (@playwright/test in Debian's Chromium, e2e/*.spec.ts).
# `npm run e2e` runs only the browser suite. Either part failing fails the whole.
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

log=$(mktemp)
cov=$(mktemp -d)
trap 'rm -rf "$log" "$cov"' EXIT
# c8 reads the V8 coverage of every test process and maps it back to the TypeScript through tsx's source
# maps. It judges the unit and HTTP tests alone: Playwright compiles the same files its own way, and V8's
# coverage of two different compilations of one file cannot be merged (c8 merges them by byte offset).
c8=(npx c8 --all --include 'app/**' --temp-directory "$cov" --reporter none)

node_status=0
node_passed=0
node_failed=0
if [ "${1:-}" != "--e2e-only" ]; then
  shopt -s nullglob
  files=(test/*.test.ts e2e/*.test.ts)
  set +e
  "${c8[@]}" node --enable-source-maps --import tsx --test --test-reporter spec "${files[@]}" 2>&1 | tee "$log"
  node_status=${PIPESTATUS[0]}
  set -e
  node_passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -1)
  node_failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -1)
fi

echo "Browser suite (Playwright, Debian's Chromium)..."
set +e
npx playwright test 2>&1 | tee "$log"
pw_status=${PIPESTATUS[0]}
set -e
pw_passed=$(sed -n 's/^ *\([0-9]*\) passed.*/\1/p' "$log" | tail -1)
pw_failed=$(sed -n 's/^ *\([0-9]*\) failed.*/\1/p' "$log" | tail -1)
pw_skipped=$(sed -n 's/^ *\([0-9]*\) skipped.*/\1/p' "$log" | tail -1)
if [ "${pw_skipped:-0}" -ne 0 ]; then
  echo "browser suite: ${pw_skipped} skipped; a skipped test is a failed one here" >&2
  pw_status=1
fi

cover_status=0
if [ "${1:-}" != "--e2e-only" ]; then
  set +e
  npx c8 report --all --include 'app/**' --temp-directory "$cov" --reporter text --reporter text-summary --check-coverage --lines 85
  cover_status=$?
  set -e
fi

# The runners' own totals scroll by above; repeat them as the last lines.
echo "unit and HTTP tests: ${node_passed:-0} passed, ${node_failed:-0} failed; browser tests: ${pw_passed:-0} passed, ${pw_failed:-0} failed"
echo "tests: $(( ${node_passed:-0} + ${pw_passed:-0} )) passed, $(( ${node_failed:-0} + ${pw_failed:-0} )) failed"
if [ "$node_status" -ne 0 ] || [ "$pw_status" -ne 0 ] || [ "$cover_status" -ne 0 ]; then exit 1; fi
