#!/usr/bin/env bash
# XRootD (Debian 12 xrootd-server 5.5) on localhost for pipekit's storage tests and bench W5:
#   root://localhost:1094//  and, through the XrdHttp plugin, WebDAV on http/dav://localhost:8094/
# Anonymous, writable, adler32 checksums, data below $XRD_BASE/data (served as /).
#
# usage: tests/infra/xrootd.sh start|stop|status
#   start   install when missing, write the config, start the server unless it runs (restart it
#           when it runs with an older config); idempotent
#   stop    stop the server this script started, by PID (waits until it is gone, not a zombie)
# env knobs (a second, independent instance is started by giving other values):
#   XRD_BASE=/tmp/infra/xrd   XRD_PORT=1094   XRD_HTTP_PORT=8094
# xrootd refuses to run as root, so it runs as the system user "xrootd" (-R xrootd).
set -euo pipefail
BASE=${XRD_BASE:-/tmp/infra/xrd}
XRD_PORT=${XRD_PORT:-1094}
HTTP_PORT=${XRD_HTTP_PORT:-8094}
PIDFILE=$BASE/run/xrootd.pid

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }

install_pkgs() {
    local pkgs="xrootd-server xrootd-client xrootd-server-plugins"
    # shellcheck disable=SC2086
    if ! dpkg -s $pkgs >/dev/null 2>&1; then
        # the mirror comes from the machine's own apt configuration
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
    fi
    id xrootd >/dev/null 2>&1 || useradd -r -s /usr/sbin/nologin xrootd
}

write_config() {
    mkdir -p "$BASE/data" "$BASE/run" "$BASE/log" "$BASE/admin"
    # chksum max: by default the server computes few checksums at once and answers every further
    # query with "wait 30 s"; parallel branch workers verifying uploads then stall for 30 s each
    cat > "$BASE/xrootd.cfg" <<EOF
all.export / nolock
oss.localroot $BASE/data
all.adminpath $BASE/admin
all.pidpath $BASE/run
xrd.port $XRD_PORT
xrootd.chksum max 32 adler32
xrd.protocol XrdHttp:$HTTP_PORT libXrdHttp.so
http.listingdeny false
http.desthttps false
EOF
    chown -R xrootd:xrootd "$BASE/data" "$BASE/run" "$BASE/log" "$BASE/admin"
}

ready() { xrdfs "localhost:$XRD_PORT" query config version >/dev/null 2>&1; }

start() {
    install_pkgs
    write_config
    # a server started with another config (an older version of this script) is restarted
    if alive "$PIDFILE" && ! cmp -s "$BASE/xrootd.cfg" "$BASE/run/xrootd.cfg.running"; then stop; fi
    if ! alive "$PIDFILE"; then
        rm -f "$PIDFILE"
        cp "$BASE/xrootd.cfg" "$BASE/run/xrootd.cfg.running"
        xrootd -b -R xrootd -c "$BASE/xrootd.cfg" -l "$BASE/log/xrootd.log" -s "$PIDFILE" -n "infra$XRD_PORT"
        for _ in $(seq 100); do ready && break; sleep 0.1; done
    fi
    ready || { echo "xrootd did not come up on port $XRD_PORT; see $BASE/log/" >&2; exit 1; }
    echo "xrootd on root://localhost:$XRD_PORT// and dav://localhost:$HTTP_PORT/ (data in $BASE/data)"
}

stop() {
    if alive "$PIDFILE"; then
        local pid
        pid=$(cat "$PIDFILE"); kill "$pid"
        for _ in $(seq 100); do { kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; } || break; sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$PIDFILE"
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) if alive "$PIDFILE" && ready; then echo "xrootd running on port $XRD_PORT"; else echo "xrootd not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
