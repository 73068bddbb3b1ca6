#!/usr/bin/env bash
# Fuzzes the served OpenAPI document with schemathesis: every check, a bounded number of
# examples per operation, once anonymous and once with a bearer token. Fails on any failure.
#
#   .ci/schemathesis.sh [path to the bazaar binary]   (default: target/debug/bazaar)
#
# SCHEMATHESIS_EXAMPLES (default 40) bounds the examples per operation and phase;
# SCHEMATHESIS_VENV (default target/schemathesis-venv) is where schemathesis is installed;
# SCHEMATHESIS_DATABASE_URL (default a new SQLite file) names an empty database to serve from.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: a new release may add checks; bump it on purpose.
SCHEMATHESIS_VERSION=4.32.5
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-40}
# A fixed seed keeps CI deterministic; set SCHEMATHESIS_SEED to explore other cases.
SEED=${SCHEMATHESIS_SEED:-1}
VENV=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
BIN=${1:-target/debug/bazaar}

if [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
    if ! python3 -m venv "$VENV"; then
        echo "FAIL: python3 -m venv does not work here (Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

dir=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

# Rate limits off: the fuzzer sends hundreds of logins and purchases a minute on purpose.
BAZAAR_RATE_LIMITS=off "$BIN" --bind 127.0.0.1:0 \
    --database-url "${SCHEMATHESIS_DATABASE_URL:-sqlite://$dir/bazaar.db}" \
    --log-format json --payments-webhook-secret fuzzing-secret >"$dir/server.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
    port=$(grep -m1 -o '"message":"listening","port":[0-9]*' "$dir/server.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL: the server for schemathesis did not start" >&2
    cat "$dir/server.log" >&2
    exit 1
fi
base="http://127.0.0.1:$port"

# A user with money, and a listing of someone else's, so authenticated cases reach past 401
# and 404.
register() {
    curl -fsS -X POST "$base/api/v1/users" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"fuzzing-password\"}" >/dev/null
    curl -fsS -X POST "$base/api/v1/sessions" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"fuzzing-password\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
token=$(register fuzzer)
seller=$(register fuzz_seller)
curl -fsS -X POST "$base/api/v1/wallet/deposits" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"amount_cents":100000000}' >/dev/null
curl -fsS -X POST "$base/api/v1/listings" -H "authorization: Bearer $seller" \
    -H 'content-type: application/json' \
    -d '{"title":"Fuzz lamp","price_cents":1000,"quantity":1000000}' >/dev/null

run() {
    local label=$1 config=$2
    shift 2
    echo "== schemathesis $SCHEMATHESIS_VERSION ($label, $EXAMPLES examples per operation)"
    # From the temporary directory, where schemathesis leaves its cache.
    (cd "$dir" && PYTHONPATH="$ci" SCHEMATHESIS_HOOKS=schemathesis_hooks \
        "$venv" --config-file "$config" run "$base/api/v1/openapi.json" \
        --checks all --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
        --no-color --request-timeout 10 --generation-database none "$@")
}
# The token goes in as the document's bearer scheme (rather than -H), so checks that drop or
# spoil the credentials (missing_required_header, ignored_auth) can still do so.
{
    cat .ci/schemathesis.toml
    printf '\n[auth.openapi.bearer]\nbearer = "%s"\n' "$token"
} >"$dir/with-token.toml"
ci=$PWD/.ci
venv=$(cd "$VENV" && pwd)/bin/st
status=0
run anonymous "$ci/schemathesis.toml" || status=1
run "with a token" "$dir/with-token.toml" || status=1
# A server fault is logged at ERROR (or panics) even when the client saw a 4xx; actix-http's own
# complaints about malformed requests (which it answers 400) are not ours.
faults=$(grep -e '"level":"ERROR"' -e 'panicked' "$dir/server.log" |
    grep -v '"target":"actix_http::' || true)
if [ -n "$faults" ]; then
    echo "FAIL: the server logged faults during the run:" >&2
    echo "$faults" | head -20 >&2
    status=1
fi
exit "$status"
