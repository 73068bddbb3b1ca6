#!/usr/bin/env bash
# An S3-compatible server for the tests: moto's server mode (from PyPI, pinned, in a venv under
# target/) on a free loopback port, with one bucket made for the tests.
#
#   .ci/s3.sh cargo test --test api -- media_s3     run a command with the server, then stop it
#   source .ci/s3.sh && s3_start                    (in a script) start it and export its settings;
#                                                   call s3_stop at the end (.ci/run traps it)
#
# Exported while it runs: BAZAAR_TEST_S3_URL (s3://bazaar-test), AWS_ENDPOINT_URL,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
# S3_VENV (default target/s3-venv) is where moto is installed.

# Pinned: a new release may change what it emulates; bump it on purpose.
MOTO_VERSION=5.2.5
S3_TEST_BUCKET=bazaar-test

s3_start() {
    local root venv log port
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv=${S3_VENV:-$root/target/s3-venv}
    if [ "$("$venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]; then
        if ! python3 -m venv "$venv"; then
            echo "FAIL: python3 -m venv does not work here (Debian: apt-get install python3-venv)" >&2
            return 1
        fi
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" ||
            return 1
    fi
    S3_DIR=$(mktemp -d)
    log="$S3_DIR/moto.log"
    : >"$log"
    # Port 0: the system picks a free port, and moto prints it.
    "$venv/bin/moto_server" -H 127.0.0.1 -p 0 >"$log" 2>&1 &
    S3_PID=$!
    port=
    for _ in $(seq 1 150); do
        port=$(grep -m1 -o 'Running on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$' || true)
        [ -n "$port" ] && break
        kill -0 "$S3_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "FAIL: moto's S3 server did not start" >&2
        cat "$log" >&2
        s3_stop
        return 1
    fi
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    # moto accepts any credentials; they must be set so no client looks for instance ones.
    export AWS_ACCESS_KEY_ID=bazaar-test AWS_SECRET_ACCESS_KEY=bazaar-test AWS_REGION=us-east-1
    export BAZAAR_TEST_S3_URL="s3://$S3_TEST_BUCKET"
    if ! curl -fsS -X PUT "$AWS_ENDPOINT_URL/$S3_TEST_BUCKET" >/dev/null; then
        echo "FAIL: could not create the bucket $S3_TEST_BUCKET on moto" >&2
        cat "$log" >&2
        s3_stop
        return 1
    fi
    echo "S3 (moto $MOTO_VERSION) at $AWS_ENDPOINT_URL, bucket $S3_TEST_BUCKET"
}

s3_stop() {
    if [ -n "${S3_PID:-}" ]; then
        kill "$S3_PID" 2>/dev/null || true
        wait "$S3_PID" 2>/dev/null || true
        S3_PID=
    fi
    if [ -n "${S3_DIR:-}" ]; then
        rm -rf "$S3_DIR"
        S3_DIR=
    fi
}

# Run as a command: start, run the arguments, stop.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    trap s3_stop EXIT
    s3_start
    if [ "$#" -gt 0 ]; then
        "$@"
    fi
fi
