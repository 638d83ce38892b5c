#!/usr/bin/env bash
# Shared helper for webdav.sh and s3.sh (sourced, not run): the virtual environment that holds the
# Python storage servers (wsgidav + cheroot, moto's S3 server), separate from the project's .venv
# so that their dependencies (boto3/botocore pins) never meet s3fs/aiobotocore in one resolve.
# Versions are pinned: an unpinned moto[server] + s3fs install backtracks for minutes.
STORAGE_VENV=${STORAGE_VENV:-/tmp/infra/venv-storage}
STORAGE_PINS="moto[server]==5.2.5 wsgidav==4.4.0 cheroot==11.1.2"

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }

ensure_storage_venv() {
    local marker=$STORAGE_VENV/.pins
    [ -f "$marker" ] && [ "$(cat "$marker")" = "$STORAGE_PINS" ] && return 0
    if [ ! -x "$STORAGE_VENV/bin/python" ]; then
        # Debian's own python3 needs python3-venv for "-m venv" (a pyenv/python.org one does not)
        python3 -m venv "$STORAGE_VENV" 2>/dev/null || {
            rm -rf "$STORAGE_VENV"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
            python3 -m venv "$STORAGE_VENV"
        }
    fi
    # shellcheck disable=SC2086
    "$STORAGE_VENV/bin/pip" install -q --disable-pip-version-check $STORAGE_PINS
    echo "$STORAGE_PINS" > "$marker"
}

# stop_pid PIDFILE: TERM, wait until gone (or a zombie), KILL as a last resort, remove the file
stop_pid() {
    local pid
    if alive "$1"; then
        pid=$(cat "$1"); kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do { kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; } || break; sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$1"
}
