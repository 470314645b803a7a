#!/bin/bash
# scripts/bench.sh: prints peerd's figures (not a test).
#
#   scripts/bench.sh [provision]   as root: starts the project lab, runs the
#       `provision` bench (POST -> Configured for 1, 10 and 100 sessions
#       against the lab's FRR, and peerd's own share of that time; render
#       throughput), and stops the lab again.
#   scripts/bench.sh scale         the `scale` bench: peerd at 1k and 100k
#       stored sessions against bare baselines measured in the same run
#       (reads, durable writes, rendering, the poller, listings, memory,
#       cold start); needs wrk (installed with apt-get when missing, as
#       root). No lab. PEERD_BENCH_ROUNDS, PEERD_BENCH_SECS,
#       PEERD_BENCH_ONLY=render,post,poller,get,list,memory tune it.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
case "${1:-provision}" in
scale)
    if ! command -v wrk >/dev/null; then
        [ "$(id -u)" = 0 ] || { echo "wrk is missing: sudo apt-get install wrk" >&2; exit 1; }
        apt-get install -y --no-install-recommends wrk >/dev/null
    fi
    exec cargo bench --bench scale
    ;;
provision) ;;
*) echo "usage: scripts/bench.sh [provision|scale]" >&2; exit 2 ;;
esac
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
