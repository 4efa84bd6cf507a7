#!/usr/bin/env bash
# `npm test`: every test layer, in order, against one build.
#   1. scripts/setup.sh (idempotent: Debian packages, code-server 4.100.3 in the cache)
#   2. build once: npm run package (typecheck + esbuild -> dist/, vsce -> peerchat-<v>.vsix)
#      and the extension-host test bundles (out/test/integration/, out/test/integration-untrusted/)
#   3. lint (npm run lint: ESLint with the import boundaries; runs whether or not the build passed)
#   4. unit, interop, integration (real VS Code extension host), untrusted (the extension host
#      in an untrusted workspace: restricted settings), ui (packaged .vsix, Chromium)
# Every layer runs even when an earlier one failed (interop, integration, untrusted and ui need the build,
# so a failed build marks them failed without running them). Ends with each layer's
# `<layer>: N passed, N failed` line and the total `N passed, N failed`; exits non-zero when
# anything failed. Each layer's full output is also kept in test-results/<layer>.log.
set -uo pipefail

cd "$(dirname "$0")/.."
mkdir -p test-results
export PEERCHAT_SKIP_BUILD=1

total_passed=0
total_failed=0
status=0
summary=()
timings=()

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# run_layer NAME COMMAND... : streams the output, records the layer's summary line.
run_layer() {
  local name="$1"
  shift
  local log="test-results/$name.log" t0 rc line passed failed
  t0=$(now)
  echo
  echo "=== $name: $* ==="
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  timings+=("$name $(elapsed "$t0")")
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "test.sh: $name printed no summary line (exit $rc)"
    line="$name: 0 passed, 1 failed"
  fi
  passed=$(sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$line")
  failed=$(sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$line")
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
    line="$name: $passed passed, $failed failed"
  fi
  [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] && status=1
  summary+=("$line")
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

# skip_layer NAME WHY : a layer that cannot run counts as one failure.
skip_layer() {
  echo
  echo "=== $1: not run ($2) ==="
  summary+=("$1: 0 passed, 1 failed")
  timings+=("$1 skipped")
  total_failed=$((total_failed + 1))
  status=1
}

t0=$(now)
echo "=== setup ==="
setup_ok=1
bash scripts/setup.sh || { setup_ok=0; status=1; echo "test.sh: setup failed"; }
timings+=("setup $(elapsed "$t0")")

t0=$(now)
echo
echo "=== build ==="
build_ok=1
# Stale artifacts must not stand in for a failed build.
rm -rf out/test "peerchat-$(node -p 'require("./package.json").version').vsix"
npm run package 2>&1 | tee test-results/build.log
[ "${PIPESTATUS[0]}" -eq 0 ] || build_ok=0
if [ "$build_ok" = 1 ]; then
  node test/harness/buildTests.js 2>&1 | tee -a test-results/build.log
  [ "${PIPESTATUS[0]}" -eq 0 ] || build_ok=0
fi
timings+=("build $(elapsed "$t0")")
[ "$build_ok" = 1 ] || { status=1; echo "test.sh: build failed"; }

run_layer lint node scripts/lint.js
run_layer unit node scripts/run-unit.js
if [ "$build_ok" = 1 ]; then
  run_layer interop node scripts/run-unit.js interop
  run_layer integration node test/harness/runIntegration.js --no-build
  run_layer untrusted node test/harness/runUntrusted.js --no-build
  run_layer ui node test/harness/runUi.js --no-build
else
  for layer in interop integration untrusted ui; do skip_layer "$layer" "the build failed"; done
fi

echo
echo "=== summary ==="
echo "timings: $(IFS=';'; echo "${timings[*]}" | sed 's/;/, /g')"
[ "$setup_ok" = 1 ] || echo "setup: FAILED"
[ "$build_ok" = 1 ] || echo "build: FAILED (see test-results/build.log)"
for line in "${summary[@]}"; do echo "$line"; done
echo "$total_passed passed, $total_failed failed"
exit "$status"
