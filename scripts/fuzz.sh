#!/usr/bin/env bash
# Fuzzing (test/fuzz/): every decoder a client reaches, in-process, --inputs each (default
# 1,000,000), over one worker thread per core; then --http requests per cert.v1 endpoint
# (default 10,000) through a running certd. Crashing and hanging inputs go to --out
# (default .fuzz/<UTC time>/) with a .txt that says how to replay each; summary.json there.
#   scripts/fuzz.sh [--inputs N] [--targets json:createCertificate,pkcs12,...] [--http N]
#                   [--no-core] [--seed S] [--workers N] [--time-limit-ms 1000]
#   scripts/fuzz.sh --replay .fuzz/<time>/<target>/crash-<hash>.bin --targets <target>
#   scripts/fuzz.sh --replay test/fuzz/findings     (the saved findings, on the code of today)
# A short run first tells the rate: scripts/fuzz.sh --inputs 20000 --http 0
# Exits 0 when there was no crash, hang, 5xx, dropped connection or forged login.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build.sh >&2
bash test/fixtures/make.sh >&2
exec node dist/test/fuzz/fuzz.js "$@"
