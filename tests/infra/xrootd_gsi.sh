#!/usr/bin/env bash
# XRootD 5.5 (Debian 12) on root://localhost:1095// that REQUIRES GSI (X.509 proxy)
# authentication, with VOMS attribute extraction (xrootd-voms-plugins) and a small authorization
# database:
#   /public   any authenticated user (plain or VOMS proxy): read/write
#   /pipekit  only proxies carrying a VOMS AC of the VO "pipekit" (tests/infra/voms.sh); others
#             get "[3010] ... permission denied"
# Trusts the CA of tests/infra/gridca.sh (started first when missing). Independent of the
# shared, anonymous XRootD of tests/infra/xrootd.sh on port 1094.
#
# usage: tests/infra/xrootd_gsi.sh start|stop|status
#   start   install when missing, write the config, start the server unless it runs (restart it
#           when it runs with an older config); idempotent
#   stop    stop the server this script started, by PID
# env knobs: XRD_GSI_BASE=/tmp/infra/xrootd-gsi  GRIDCA_BASE=/tmp/infra/gridca  XRD_GSI_PORT=1095
# clients:   . /tmp/infra/gridca/env.sh   then xrdcp / xrdfs / gfal2 as usual
# log:       $XRD_GSI_BASE/log/gsi/xrootd.log (xrootd puts the -n name into the -l path)
#
# Changes against the prototype (shared/recipes/xrootd_gsi.sh; it works as written): state under
# /tmp/infra; restart on a changed config (like tests/infra/xrootd.sh); the readiness probe
# authenticates with the user certificate itself, so it never depends on a proxy's lifetime;
# status exits 1 when the server is down; one start at a time (flock).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
X=${XRD_GSI_BASE:-/tmp/infra/xrootd-gsi}
GRIDCA=${GRIDCA_BASE:-/tmp/infra/gridca}
PORT=${XRD_GSI_PORT:-1095}
PIDFILE=$X/run/xrootd.pid

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }

install_pkgs() {
    local pkgs="xrootd-server xrootd-client xrootd-server-plugins xrootd-client-plugins xrootd-voms-plugins"
    # shellcheck disable=SC2086
    if ! dpkg -s $pkgs >/dev/null 2>&1; then
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
            --no-install-recommends $pkgs >/dev/null
    fi
    id xrootd >/dev/null 2>&1 || useradd -r -s /usr/sbin/nologin xrootd
}

# XrdSecGSICREATEPROXY=0: authenticate with the user certificate, no proxy needed
probe() {
    X509_CERT_DIR=$GRIDCA/certificates X509_USER_CERT=$GRIDCA/user/usercert.pem \
        X509_USER_KEY=$GRIDCA/user/userkey.pem XrdSecGSICREATEPROXY=0 \
        xrdfs "localhost:$PORT" query config version 2>/dev/null
}

write_config() {
    mkdir -p "$X/data/public" "$X/data/pipekit" "$X/run" "$X/log" "$X/admin" "$X/grid-security"
    # xrootd refuses a host key not owned by its (non-root) user or readable by others
    install -m 0644 -o xrootd "$GRIDCA/host/hostcert.pem" "$X/grid-security/xrdcert.pem"
    install -m 0400 -o xrootd "$GRIDCA/host/hostkey.pem" "$X/grid-security/xrdkey.pem"
    cat > "$X/authdb" <<EOF
u * /public a
o pipekit /pipekit a
EOF
    # -crldir defaults to /etc/grid-security/certificates even when -certdir is given
    cat > "$X/xrootd.cfg" <<EOF
all.export / nolock
oss.localroot $X/data
all.adminpath $X/admin
all.pidpath $X/run
xrd.port $PORT
xrootd.chksum max 32 adler32
xrootd.seclib libXrdSec.so
sec.protocol gsi -certdir:$GRIDCA/certificates -crldir:$GRIDCA/certificates -crl:1 -cert:$X/grid-security/xrdcert.pem -key:$X/grid-security/xrdkey.pem -gmapopt:nomap -vomsat:extract -vomsfun:default -dlgpxy:0
sec.protbind * only gsi
ofs.authorize 1
acc.authdb $X/authdb
acc.audit deny grant
EOF
    chown -R xrootd:xrootd "$X/data" "$X/run" "$X/log" "$X/admin"
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

start() {
    install_pkgs
    [ -s "$GRIDCA/ca/ca.pem" ] || GRIDCA_BASE=$GRIDCA "$HERE/gridca.sh" start >/dev/null
    write_config
    if alive "$PIDFILE" && ! cmp -s "$X/xrootd.cfg" "$X/run/xrootd.cfg.running"; then stop; fi
    if ! alive "$PIDFILE"; then
        rm -f "$PIDFILE"
        cp "$X/xrootd.cfg" "$X/run/xrootd.cfg.running"
        # libXrdVoms checks ACs against the LSC files of X509_VOMS_DIR in the *server's* environment
        env X509_CERT_DIR="$GRIDCA/certificates" X509_VOMS_DIR="$GRIDCA/vomsdir" \
            xrootd -b -R xrootd -c "$X/xrootd.cfg" -l "$X/log/xrootd.log" -s "$PIDFILE" -n gsi 9>&-
        for _ in $(seq 100); do probe >/dev/null && break; sleep 0.1; done
    fi
    probe >/dev/null || { echo "GSI xrootd did not come up on port $PORT; see $X/log/" >&2; exit 1; }
    echo "xrootd with GSI on root://localhost:$PORT// (pid $(cat "$PIDFILE"), data in $X/data)"
}

mkdir -p /tmp/infra
exec 9>/tmp/infra/xrootd_gsi.sh.lock
flock 9
case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) if alive "$PIDFILE" && probe >/dev/null; then echo "GSI xrootd running on port $PORT"; else echo "GSI xrootd not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
