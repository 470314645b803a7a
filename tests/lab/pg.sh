# shellcheck shell=bash
# peerd test lab: a throwaway PostgreSQL cluster for the PostgreSQL store's
# tests (sourced by lab-up.sh and lab-down.sh, after lib.sh).
#
# The cluster lives in $LAB_DIR/pg (owned by the `postgres` system user,
# which Debian's package creates), listens on 127.0.0.1:$PG_PORT and on a
# unix socket in $LAB_DIR/pg-sock, and has one superuser `peerd` and one
# database `peerd`. Local (socket) connections are trusted; TCP ones need
# the password in $LAB_DIR/pg-password (scram-sha-256), so both ways of
# connecting are tested. It is stopped with `pg_ctl stop` by its data
# directory only: other PostgreSQL servers on the machine are left alone.
#
# Knob: PEERD_LAB_PG_PORT (default 54329).

PG_PORT=${PEERD_LAB_PG_PORT:-54329}
PG_DATA=$LAB_DIR/pg
PG_SOCK=$LAB_DIR/pg-sock
PG_PASSWORD_FILE=$LAB_DIR/pg-password

pg_bin() {   # the newest installed PostgreSQL's bin directory
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

pg_as() { runuser -u postgres -- "$@"; }

pg_up() {
    local bin
    bin=$(pg_bin) || die "PostgreSQL is not installed (package postgresql)"
    id postgres >/dev/null 2>&1 || die "no postgres user (package postgresql)"
    case "$PG_PORT" in ''|*[!0-9]*) die "PEERD_LAB_PG_PORT '$PG_PORT' is not a number" ;; esac
    port_in_use "$PG_PORT" && die "TCP port $PG_PORT is in use (set PEERD_LAB_PG_PORT)"
    chmod o+x "$LAB_DIR"   # the postgres user reaches its directories
    rm -rf -- "$PG_DATA" "$PG_SOCK"
    mkdir -p "$PG_DATA" "$PG_SOCK"
    chown postgres: "$PG_DATA" "$PG_SOCK"
    chmod 700 "$PG_DATA"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$PG_PASSWORD_FILE"
    chmod 600 "$PG_PASSWORD_FILE"
    local pwfile
    pwfile=$(mktemp /tmp/peerd-lab-pgpw.XXXXXX)
    cp "$PG_PASSWORD_FILE" "$pwfile"; chown postgres: "$pwfile"; chmod 600 "$pwfile"
    pg_as "$bin/initdb" -D "$PG_DATA" -U peerd --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-instructions \
        >"$LAB_DIR/pg-initdb.log" 2>&1 || { rm -f "$pwfile"; die "initdb failed (see $LAB_DIR/pg-initdb.log)"; }
    rm -f "$pwfile"
    pg_as "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_SOCK -c max_connections=200 -c fsync=on" \
        start >/dev/null || die "PostgreSQL did not start (see $PG_DATA/server.log)"
    pg_as "$bin/createdb" -h "$PG_SOCK" -p "$PG_PORT" -U peerd peerd \
        || die "createdb failed"
    log "PostgreSQL on 127.0.0.1:$PG_PORT and $PG_SOCK (data $PG_DATA)"
}

pg_down() {
    local bin
    [ -f "$PG_DATA/postmaster.pid" ] || return 0
    bin=$(pg_bin) || return 0
    log "stopping PostgreSQL ($PG_DATA)"
    pg_as "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || pg_as "$bin/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || { log "PostgreSQL in $PG_DATA did not stop"; return 1; }
}

pg_env() {   # lines for lab.env
    cat <<EOF
PEERD_TEST_PG_URL='postgres://peerd@/peerd?host=$PG_SOCK&port=$PG_PORT'
PEERD_TEST_PG_TCP_URL='postgres://peerd@127.0.0.1:$PG_PORT/peerd'
PEERD_TEST_PG_PASSWORD_FILE='$PG_PASSWORD_FILE'
EOF
}
