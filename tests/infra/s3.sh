#!/usr/bin/env bash
# An S3 endpoint on http://127.0.0.1:5000 (moto's standalone server, in memory, any key/secret
# accepted) with the bucket "testbucket". pipekit reaches it through fsspec/s3fs:
#   [wlcg_fs_s3] base: s3://testbucket   s3_endpoint_url: http://127.0.0.1:5000
#
# usage: tests/infra/s3.sh start|stop|status    (start is idempotent; stop by PID)
# env knobs: S3_BASE=/tmp/infra/s3  S3_PORT=5000  STORAGE_VENV=/tmp/infra/venv-storage
set -euo pipefail
# shellcheck source=tests/infra/storage_venv.sh
. "$(dirname "$0")/storage_venv.sh"
BASE=${S3_BASE:-/tmp/infra/s3}
PORT=${S3_PORT:-5000}
PIDFILE=$BASE/moto.pid

ready() { curl -s -o /dev/null -f "http://127.0.0.1:$PORT/"; }

start() {
    ensure_storage_venv
    mkdir -p "$BASE"
    if ! alive "$PIDFILE"; then
        nohup "$STORAGE_VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" > "$BASE/moto.log" 2>&1 &
        echo $! > "$PIDFILE"
        for _ in $(seq 100); do ready && break; sleep 0.1; done
    fi
    ready || { echo "moto did not come up on port $PORT; see $BASE/moto.log" >&2; exit 1; }
    # the bucket (PUT on an existing bucket is a no-op for moto)
    curl -s -o /dev/null -X PUT "http://127.0.0.1:$PORT/testbucket"
    echo "moto S3 on http://127.0.0.1:$PORT (bucket testbucket)"
}

case "${1:-start}" in
    start) start ;;
    stop) stop_pid "$PIDFILE" ;;
    status) if alive "$PIDFILE" && ready; then echo "moto running on port $PORT"; else echo "moto not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
