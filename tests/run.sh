#!/bin/bash
# tests/run.sh: the one command that runs every test (as root):
#
#   sudo tests/run.sh
#
# 1. installs what the lab needs and is missing (apt-get, no recommends,
#    no daemons started by package scripts), and a Rust toolchain check;
# 2. starts the lab (tests/lab/lab-up.sh) and stops it again on exit;
# 3. cargo build --all-targets
#    cargo test --all-targets -- --include-ignored   (lab tests included)
#    the tests that start peerd again, on PostgreSQL (PEERD_TEST_STORE=postgres)
#    tests/openapi/check.sh   (/openapi.json of a running peerd validated,
#                              then schemathesis: >= 1000 generated cases, no
#                              5xx, every answer as documented; PyPI tools in
#                              a virtualenv under target/)
#    systemd-analyze verify contrib/peerd.service
#    cargo clippy --all-targets -- -D warnings
#    cargo build --manifest-path fuzz/Cargo.toml   (the fuzz target builds)
#    cargo fmt --check
# Every step runs even when an earlier one failed (except that nothing is
# tested when the build or the lab fails); the exit status is non-zero if
# any step failed. The lab's state lives in $PEERD_LAB_DIR (default
# /tmp/peerd-lab); PEERD_LAB_NS_PREFIX and PEERD_LAB_*_PORT move it aside
# (see tests/lab/lib.sh). PEERD_LAB_KEEP=1 leaves the lab running.
set -uo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
export PEERD_LAB_DIR=${PEERD_LAB_DIR:-/tmp/peerd-lab}
# cargo may live in root's or (under sudo) the invoking user's ~/.cargo
USER_HOME=
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    USER_HOME=$(getent passwd "$SUDO_USER" | cut -d: -f6)
fi
for d in /usr/local/cargo/bin /root/.cargo/bin ${USER_HOME:+"$USER_HOME/.cargo/bin"} "${CARGO_HOME:-$HOME/.cargo}/bin"; do
    [ -d "$d" ] && PATH=$d:$PATH
done
if [ -z "${RUSTUP_HOME:-}" ] && [ ! -d "$HOME/.rustup" ] && [ -n "$USER_HOME" ] && [ -d "$USER_HOME/.rustup" ]; then
    export RUSTUP_HOME=$USER_HOME/.rustup
fi
export PATH

say() { printf '\n==== %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "tests/run.sh must run as root (it starts the lab): sudo tests/run.sh" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo not found (install Rust >= 1.89, e.g. with rustup)" >&2; exit 1; }

declare -A RESULT=()
STEPS=()
record() {   # record <step> <rc>
    STEPS+=("$1")
    if [ "$2" = 0 ]; then RESULT[$1]=ok; else RESULT[$1]="FAILED (exit $2)"; fi
}

LAB_STARTED=0
finish() {
    local rc=0 s
    if [ $LAB_STARTED = 1 ] && [ "${PEERD_LAB_KEEP:-0}" != 1 ]; then
        say "stopping the lab"
        tests/lab/lab-down.sh || { echo "lab-down left something behind" >&2; RESULT[lab-down]="FAILED"; STEPS+=(lab-down); }
    fi
    say "summary"
    if [ -s "${TEST_LOG:-/nonexistent}" ]; then
        echo "cargo test:"
        grep -E '^(test result:|     Running|   Doc-tests)' "$TEST_LOG" | sed 's/^/  /'
    fi
    local shots="${CARGO_TARGET_DIR:-$ROOT/target}/console-screenshots"
    if [ -d "$shots" ]; then
        echo "console screenshots (tests/it/console_lab.rs): $shots"
    fi
    for s in "${STEPS[@]}"; do
        printf '  %-12s %s\n' "$s" "${RESULT[$s]}"
        [ "${RESULT[$s]}" = ok ] || rc=1
    done
    [ -z "${PG_SECS:-}" ] || echo "  (test-pg took ${PG_SECS} s)"
    [ ${#STEPS[@]} -gt 0 ] || rc=1
    if [ $rc = 0 ]; then echo "ALL PASSED"; else echo "SOME STEPS FAILED"; fi
    rm -f "${TEST_LOG:-}"
    exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

say "lab (PEERD_LAB_DIR=$PEERD_LAB_DIR)"
tests/lab/lab-up.sh </dev/null
rc=$?
record lab "$rc"
[ $rc = 0 ] && LAB_STARTED=1
if [ -e "$PEERD_LAB_DIR/.peerd-lab" ]; then LAB_STARTED=1; fi
if [ $rc = 0 ]; then
    set -a
    # shellcheck disable=SC1091
    . "$PEERD_LAB_DIR/lab.env"
    set +a
fi

say "cargo build --all-targets"
cargo build --all-targets </dev/null
rc=$?
record build "$rc"

if [ $rc = 0 ] && [ "${RESULT[lab]}" = ok ]; then
    say "cargo test --all-targets -- --include-ignored"
    TEST_LOG=$(mktemp /tmp/peerd-test.XXXXXX)
    cargo test --all-targets -- --include-ignored </dev/null 2>&1 | tee "$TEST_LOG"
    record test "${PIPESTATUS[0]}"
else
    STEPS+=(test); RESULT[test]="NOT RUN (build or lab failed)"
fi

if [ "${RESULT[test]}" = ok ]; then
    # Every test that starts peerd, again with peerd on PostgreSQL (each
    # instance on a schema of its own in the lab's throwaway cluster): the
    # API (conformance) tests, the lab end-to-end tests (FRR, BIRD,
    # netconfd, OpenBGPD, GoBGP, drain, IRR, drift, addresses, ops, the
    # asking side, SIGKILL mid-push, the console) and the CLI, ops, asking
    # and PeeringDB tests that drive a daemon. Tests of sled alone are not
    # repeated. Skipped, each sled's own by nature:
    PG_SKIP=(
        # sled lets one process hold a data dir; PostgreSQL is shared by design
        cli::a_second_serve_on_the_same_data_dir_says_so
        # fills the filesystem of peerd's sled directory
        ops::readyz_fails_while_the_store_cannot_be_written
        # offline `peerd peeringdb` works on sled (on PostgreSQL it is refused)
        cli::peeringdb_status_and_sync_through_the_daemon_and_on_the_store
        pdb_use::pdb_offline_dump_load_then_serve
        # on PostgreSQL whatever PEERD_TEST_STORE says: ran in the test step
        e2e_two::
    )
    say "tests that start peerd, with peerd on PostgreSQL (PEERD_TEST_STORE=postgres)"
    PG_START=$(date +%s)
    PEERD_TEST_STORE=postgres cargo test --test it -- --include-ignored \
        api:: e2e_ console_lab:: ask:: ops:: console:: cli:: pdb_use:: pdb_login:: \
        "${PG_SKIP[@]/#/--skip=}" </dev/null 2>&1 | tee -a "$TEST_LOG"
    record test-pg "${PIPESTATUS[0]}"
    PG_SECS=$(( $(date +%s) - PG_START ))
else
    STEPS+=(test-pg); RESULT[test-pg]="NOT RUN (tests failed)"
fi

if [ "${RESULT[build]}" = ok ]; then
    say "API description (tests/openapi/check.sh: validator + schemathesis)"
    tests/openapi/check.sh "$ROOT/target/debug/peerd" </dev/null
    record openapi $?
else
    STEPS+=(openapi); RESULT[openapi]="NOT RUN (build failed)"
fi

say "systemd unit (systemd-analyze verify contrib/peerd.service)"
# verify wants ExecStart's binary to exist: check a copy that runs the
# binary just built instead of /usr/local/bin/peerd.
UNIT_DIR=$(mktemp -d /tmp/peerd-unit.XXXXXX)
sed "s#/usr/local/bin/peerd #$ROOT/target/debug/peerd #" contrib/peerd.service > "$UNIT_DIR/peerd.service"
# it exits 0 on unknown keys and bad values: any message is a failure
UNIT_MSG=$(systemd-analyze verify "$UNIT_DIR/peerd.service" 2>&1 </dev/null)
rc=$?
[ -n "$UNIT_MSG" ] && { echo "$UNIT_MSG"; [ $rc = 0 ] && rc=1; }
record unit $rc
rm -rf "$UNIT_DIR"

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings </dev/null
record clippy $?

say "fuzz target builds (cargo build --manifest-path fuzz/Cargo.toml)"
cargo build --manifest-path fuzz/Cargo.toml </dev/null
record fuzz-build $?

say "cargo fmt --check"
cargo fmt --check </dev/null
record fmt $?
