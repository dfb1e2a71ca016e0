#!/usr/bin/env bash
# The test command (npm test runs build.sh first, then this): makes the openssl fixtures
# and runs every uvu suite under dist/test. Prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash test/fixtures/make.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
# One process per suite file: a crash in one suite cannot hide another's results.
passed=0 failed=0 files=0
for f in $(find dist/test -name '*.test.js' | sort); do
  files=$((files + 1))
  # Each suite file gets its own TMPDIR, removed after it: what a suite leaves behind (a
  # killed daemon's folder, a CA made by openssl) cannot pile up on a shared machine. Short
  # (unix socket paths are limited to 107 bytes) and traversable like /tmp (nginx's workers).
  tmp=$(mktemp -d /tmp/ct.XXXXXX) && chmod 755 "$tmp"
  TMPDIR=$tmp node node_modules/uvu/bin.js "$(dirname "$f")" "$(basename "$f")" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  [ "${CERTD_KEEP_TEST_DIRS:-}" = 1 ] || rm -rf "$tmp"
  p=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/Passed:/ {print $2}' | tail -1)
  t=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/Total:/ {print $2}' | tail -1)
  p=${p:-0} t=${t:-0}
  if [ "$status" != 0 ] && [ "$p" = "$t" ]; then t=$((t + 1)); fi  # crashed outside a test
  passed=$((passed + p)); failed=$((failed + t - p))
done
echo "suites: $files files in $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$files" -gt 0 ] && [ "$passed" -gt 0 ] && [ "$failed" = 0 ]
