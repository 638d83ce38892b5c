#!/usr/bin/env bash
# A plain WebDAV server (wsgidav on cheroot) on http://127.0.0.1:8095/ (dav://localhost:8095/ for
# gfal2), anonymous read/write, data in $WEBDAV_BASE/data. (xrootd.sh serves WebDAV too, on 8094.)
#
# usage: tests/infra/webdav.sh start|stop|status    (start is idempotent; stop by PID)
# env knobs: WEBDAV_BASE=/tmp/infra/wsgidav  WEBDAV_PORT=8095  STORAGE_VENV=/tmp/infra/venv-storage
set -euo pipefail
# shellcheck source=tests/infra/storage_venv.sh
. "$(dirname "$0")/storage_venv.sh"
BASE=${WEBDAV_BASE:-/tmp/infra/wsgidav}
PORT=${WEBDAV_PORT:-8095}
PIDFILE=$BASE/wsgidav.pid

ready() { curl -s -o /dev/null -f -X PROPFIND -H 'Depth: 0' "http://127.0.0.1:$PORT/"; }

start() {
    ensure_storage_venv
    mkdir -p "$BASE/data"
    if ! alive "$PIDFILE"; then
        nohup "$STORAGE_VENV/bin/wsgidav" --host 127.0.0.1 --port "$PORT" --root "$BASE/data" \
            --auth anonymous --no-config -q > "$BASE/wsgidav.log" 2>&1 &
        echo $! > "$PIDFILE"
        for _ in $(seq 100); do ready && break; sleep 0.1; done
    fi
    ready || { echo "wsgidav did not come up on port $PORT; see $BASE/wsgidav.log" >&2; exit 1; }
    echo "wsgidav on http://127.0.0.1:$PORT/ (dav://localhost:$PORT/ for gfal2; data in $BASE/data)"
}

case "${1:-start}" in
    start) start ;;
    stop) stop_pid "$PIDFILE" ;;
    status) if alive "$PIDFILE" && ready; then echo "wsgidav running on port $PORT"; else echo "wsgidav not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
