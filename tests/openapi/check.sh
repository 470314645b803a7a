#!/bin/bash
# tests/openapi/check.sh: the API description against a running peerd.
#
#   tests/openapi/check.sh [PEERD_BINARY]      (default target/debug/peerd)
#
# 1. installs openapi-spec-validator and schemathesis (pinned, from PyPI)
#    into a virtualenv under target/ (kept between runs);
# 2. starts a PeeringDB stand-in (pdb_standin.py) and `peerd serve` with a
#    test inventory, an operator key, the worker on (its router is a
#    closed port: pushes fail and are retried) and the base path /peering,
#    all on loopback;
# 3. fetches /peering/openapi.json from it and validates the document;
# 4. runs schemathesis for at least $MIN_CASES generated cases with the
#    operator key (so admin routes are reached too) and fails on any server
#    error (5xx), undocumented status, or answer that does not match its
#    schema (body, content type, headers), or on an authenticated route that
#    accepts a bad token.
# Everything it started is stopped on exit. Run by tests/run.sh as the
# `openapi` step; needs python3 (3.9+) with venv, and curl.
set -uo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
BIN=${1:-$ROOT/target/debug/peerd}
VENV=$ROOT/target/openapi-venv
SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
# Cases per operation; with 28 operations and every phase this is well
# over MIN_CASES.
MAX_EXAMPLES=${PEERD_OPENAPI_MAX_EXAMPLES:-60}
MIN_CASES=${PEERD_OPENAPI_MIN_CASES:-1000}
# Fixed, so a failure reproduces; set another to explore.
SEED=${PEERD_OPENAPI_SEED:-20240611}

say() { printf '\n-- %s\n' "$*"; }
fail() { echo "openapi check: $*" >&2; exit 1; }

[ -x "$BIN" ] || fail "no peerd binary at $BIN (cargo build first)"
command -v python3 >/dev/null || fail "python3 not found"

say "tools (virtualenv $VENV)"
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('schemathesis') == '$SCHEMATHESIS_VERSION' and m.version('openapi-spec-validator') == '$VALIDATOR_VERSION'" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || fail "cannot create a virtualenv (python3-venv missing?)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION" \
        || fail "pip install failed"
fi
"$VENV/bin/schemathesis" --version

WORK=$(mktemp -d /tmp/peerd-openapi.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    if [ "${PEERD_OPENAPI_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

say "PeeringDB stand-in"
python3 "$ROOT/tests/openapi/pdb_standin.py" > "$WORK/pdb.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/pdb.port" ] && break; sleep 0.1; done
PDB_PORT=$(head -1 "$WORK/pdb.port")
[ -n "$PDB_PORT" ] || fail "the PeeringDB stand-in did not start"
echo "on 127.0.0.1:$PDB_PORT"

cat > "$WORK/inventory.yaml" <<'EOF'
asn: 65001
routers:
  - name: ci-frr
    platform: frr
    host: 127.0.0.1
    port: 9
    user: ci
    credential: {key_file: /nonexistent/id_ed25519}
    host_key: {key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeTestKeyOnly test"}
locations:
  - id: pdb:ix:1
    type: public
    name: CI-IX
    router: ci-frr
    prefixes: [192.0.2.0/24, "2001:db8::/64"]
    our_ips: [192.0.2.1, "2001:db8::1"]
policy:
  approval: auto
  allow_private_asns: true
  max_sessions_per_request: 100
EOF
cat > "$WORK/peerd.yaml" <<EOF
listen: 127.0.0.1:0
base_path: /peering
data_dir: $WORK/data
inventory: $WORK/inventory.yaml
operator_keys_file: $WORK/operator-keys.yaml
templates_dir: $ROOT/templates
drivers_dir: $ROOT/drivers
log_format: json
worker:
  enabled: true
  backoff_base_ms: 60000
peeringdb:
  auth_base: http://127.0.0.1:$PDB_PORT
  api_base: http://127.0.0.1:$PDB_PORT/api
  sync_interval_secs: 0
  timeout_secs: 5
limits:
  requests_per_minute: 0
  token_lookups_per_minute: 0
  request_timeout_secs: 20
EOF

KEY=$("$BIN" key add ci --config "$WORK/peerd.yaml" 2>/dev/null) || fail "peerd key add failed"

say "peerd serve"
env -u RUST_LOG "$BIN" serve --config "$WORK/peerd.yaml" > "$WORK/stdout" 2> "$WORK/peerd.log" &
PIDS+=($!)
URL=
for _ in $(seq 100); do
    URL=$(sed -n 's/^peerd listening on //p' "$WORK/stdout")
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { tail -20 "$WORK/peerd.log"; fail "peerd did not start"; }
echo "on $URL"

say "GET /peering/openapi.json, validated"
curl -fsS "$URL/openapi.json" -o "$WORK/openapi.json" || fail "cannot fetch $URL/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json" || fail "the document is not valid OpenAPI"

say "schemathesis (seed $SEED, up to $MAX_EXAMPLES cases per operation)"
# its cache and reports go to the work directory
cd "$WORK" || fail "cannot enter $WORK"
"$VENV/bin/schemathesis" run "$URL/openapi.json" \
    --header "Authorization: Bearer $KEY" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,ignored_auth,unsupported_method,missing_required_header \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
    --request-timeout 30 --workers 1 \
    --no-color --output-sanitize true \
    2>&1 | tee "$WORK/schemathesis.txt"
rc=${PIPESTATUS[0]}
CASES=$(grep -Eo '[0-9]+ generated' "$WORK/schemathesis.txt" | tail -1 | grep -Eo '^[0-9]+')
echo "generated cases: ${CASES:-?} (at least $MIN_CASES wanted)"
if grep -q '"level":"ERROR"' "$WORK/peerd.log"; then
    echo "peerd logged errors:"
    grep '"level":"ERROR"' "$WORK/peerd.log" | head -20
fi
[ "$rc" = 0 ] || fail "schemathesis found problems (exit $rc)"
[ -n "$CASES" ] && [ "$CASES" -ge "$MIN_CASES" ] || fail "only ${CASES:-0} cases generated"
kill -0 "${PIDS[1]}" 2>/dev/null || fail "peerd is no longer running"
echo "openapi check: ok"
