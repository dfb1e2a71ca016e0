#!/usr/bin/env bash
# The kill loop (test/soak/kill-loop.ts): cycles of concurrent cert.v1 writes, SIGKILL of
# certd/keystored/both at a random moment, restart, then checks that nothing acknowledged
# was lost, nothing refused was applied, no orphan key and no entry without a working key.
#   scripts/kill-loop.sh [--cycles 1000] [--seed S] [--stores SE0] [--json FILE] [--stop-on-violation]
#                        [--hide-entries-every N]
# Exits 0 when every check held, 1 on any violation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build.sh >&2
exec node dist/test/soak/kill-loop.js "$@"
