#!/usr/bin/env bash
# The tutorial's flows in Python: makes a virtual environment, installs boto3, starts
# `s3lite serve` on a free port over a fresh store, runs tutorial.py against it, stops the server
# (SIGTERM: the store closes cleanly) and checks it exited cleanly.
# Needs python3 with venv and network access to PyPI (the venv is kept in target/boto3-venv).
set -euo pipefail
cd "$(dirname "$0")/../../.."

venv=target/boto3-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check boto3

# A debug build: `cargo test` has built most of it already, and this checks behaviour, not speed.
cargo build -p s3lite-cli --bin s3lite
data=$(mktemp -d)
log="$data/serve.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/debug/s3lite serve --data "$data/store" --listen "127.0.0.1:$port" --region eu-west-1 \
    --access-key AKIATUTORIAL0000 --secret-key tutorial-secret >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
    grep -q "listening on" "$log" && break
    sleep 0.1
done
grep -q "listening on" "$log" || { cat "$log"; exit 1; }

S3LITE_ENDPOINT="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=AKIATUTORIAL0000 \
    AWS_SECRET_ACCESS_KEY=tutorial-secret "$venv/bin/python" http/tests/boto3/tutorial.py

kill -TERM "$pid"
wait "$pid"
grep -q "store closed" "$log" || { cat "$log"; echo "the server did not close the store"; exit 1; }
echo "boto3 tutorial: ok ($(grep -c '"request"\| request ' "$log" || true) requests logged)"
