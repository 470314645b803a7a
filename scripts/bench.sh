#!/bin/bash
# scripts/bench.sh: prints peerd's provisioning figures (not a test).
# As root: starts the project lab, runs the `provision` bench (POST ->
# Configured for 1, 10 and 100 sessions against the lab's FRR, and peerd's
# own share of that time; render throughput), and stops the lab again.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo scripts/bench.sh" >&2; exit 1; }
export PEERD_LAB_DIR=${PEERD_LAB_DIR:-/tmp/peerd-lab}
started=0
if [ ! -e "$PEERD_LAB_DIR/lab.env" ]; then
    tests/lab/lab-up.sh </dev/null
    started=1
fi
cleanup() { [ $started = 1 ] && tests/lab/lab-down.sh || true; }
trap cleanup EXIT
cargo bench --bench provision
