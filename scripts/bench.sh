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
#   scripts/bench.sh pg            as root: starts a throwaway PostgreSQL
#       cluster (tests/lab/pg.sh: Debian's postgresql package, its own
#       data directory under /tmp, 127.0.0.1:$PEERD_BENCH_PG_PORT (54369)
#       and a unix socket), runs the scale bench's PostgreSQL rows (durable
#       POST against a bare INSERT-and-COMMIT loop on that server, GET
#       against the bare axum route; at PEERD_BENCH_PG_SIZES=1000
#       stored; PEERD_BENCH_PG_POOL=8 connections on both sides), and
#       stops the cluster and removes its directory. Needs wrk.
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
pg)
    [ "$(id -u)" = 0 ] || { echo "run as root: sudo scripts/bench.sh pg" >&2; exit 1; }
    if ! command -v wrk >/dev/null; then
        apt-get install -y --no-install-recommends wrk >/dev/null
    fi
    PEERD_LAB_DIR=$(mktemp -d /tmp/peerd-bench-pg.XXXXXX)
    PEERD_LAB_PG_PORT=${PEERD_BENCH_PG_PORT:-54369}
    path=$PATH   # lib.sh sets its own (without cargo's)
    # shellcheck source=../tests/lab/lib.sh
    . tests/lab/lib.sh
    # shellcheck source=../tests/lab/pg.sh
    . tests/lab/pg.sh
    # only this cluster, by its own data directory; then its directory
    trap 'pg_down || true; rm -rf -- "$LAB_DIR"' EXIT
    pg_up
    PATH=$path:$PATH
    PEERD_BENCH_PG_URL="postgres://peerd@/peerd?host=$PG_SOCK&port=$PG_PORT" \
        PEERD_BENCH_ONLY=pg cargo bench --bench scale
    exit 0
    ;;
provision) ;;
*) echo "usage: scripts/bench.sh [provision|scale|pg]" >&2; exit 2 ;;
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
