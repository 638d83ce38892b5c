#!/usr/bin/env bash
# NorduGrid ARC 6.17 computing element (Debian 12 nordugrid-arc-arex) on localhost with the
# "fork" LRMS: REST interface at https://localhost:8443/arex (arcsub -T arcrest), X.509 proxy
# authentication against the CA of tests/infra/gridca.sh (started first when missing). Only the
# Test User is authorized; jobs run as nobody:nogroup (A-REX does not process jobs mapped to
# root: they stay "Accepted" forever). /etc/arc.conf is not used.
#
# usage: tests/infra/arc.sh start|stop|status
#   start   install when missing, write the config, start both daemons unless they run (restart
#           them when the config changed); waits until the REST port is open and the first
#           infoprovider run is done (arcsub's resource discovery needs it); idempotent
#   stop    stop both daemons by PID (arched needs several seconds after SIGTERM)
# env knobs: ARC_BASE=/tmp/infra/arc  GRIDCA_BASE=/tmp/infra/gridca  ARC_PORT=8443
#            ARC_INFO_PERIOD=5 (s; ARC's default is 60: REST job states come from the
#            infoprovider's per-job files and lag by up to this period)
# clients:   . /tmp/infra/gridca/env.sh
#            arcsub -j jobs.dat -C https://localhost:8443/arex -T arcrest job.xrsl
#
# Two daemons, as the systemd units would run them:
#   arched #1 "arex"    job processing and infoprovider (own XML: the infoprovider period can
#                       only be set there)
#   arched #2 "arex-ws" the HTTPS/REST front end (Debian's /usr/share/arc/arc-arex-ws-start)
#
# Changes against the prototype (shared/recipes/arc.sh; it works as written): state under
# /tmp/infra; one start at a time (flock; daemons start with the lock's fd closed); restart on a
# changed config; the session and control directories are usable by nobody; status exits 1 when
# a daemon is down. Known ARC 6.17 fork-LRMS behaviour: arckill cannot stop a running job (it
# kills the recorded local id, the pid of a watcher subshell that is already gone); A-REX then
# cleans the job's inputs from its session directory, and pipekit's ARC job script, which
# watches for that, ends itself.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
A=${ARC_BASE:-/tmp/infra/arc}
GRIDCA=${GRIDCA_BASE:-/tmp/infra/gridca}
PORT=${ARC_PORT:-8443}
INFO_PERIOD=${ARC_INFO_PERIOD:-5}

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }
gone() { ! kill -0 "$1" 2>/dev/null || ps -o stat= -p "$1" | grep -q Z; }

install_pkgs() {
    local pkgs="nordugrid-arc-arex nordugrid-arc-plugins-arcrest nordugrid-arc-client"
    # shellcheck disable=SC2086
    if ! dpkg -s $pkgs >/dev/null 2>&1; then
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
            --no-install-recommends $pkgs >/dev/null
    fi
}

write_conf() {
    mkdir -p "$A/control" "$A/session" "$A/run" "$A/log" "$A/tmp" "$A/runtime"
    chmod 1777 "$A/tmp"   # arc-config-check: "tmpdir ... must be writable and have the sticky bit set"
    chmod 0755 "$A" "$A/session"
    local userdn
    userdn=$(openssl x509 -in "$GRIDCA/user/usercert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
    cat > "$A/arc.conf" <<EOF
[common]
hostname = localhost
x509_host_key = $GRIDCA/host/hostkey.pem
x509_host_cert = $GRIDCA/host/hostcert.pem
x509_cert_dir = $GRIDCA/certificates
x509_voms_dir = $GRIDCA/vomsdir

[authgroup:testusers]
subject = $userdn

[mapping]
map_to_user = testusers nobody:nogroup

[lrms]
lrms = fork

[arex]
controldir = $A/control
sessiondir = $A/session
runtimedir = $A/runtime
pidfile = $A/run/arex.pid
logfile = $A/log/arex.log
loglevel = 3
tmpdir = $A/tmp
shared_filesystem = yes
wakeupperiod = 5

[arex/ws]
wsurl = https://localhost:$PORT/arex
logfile = $A/log/ws-interface.log
pidfile = $A/run/arex-ws.pid

[arex/ws/jobs]
allowaccess = testusers

[infosys]
logfile = $A/log/infoprovider.log

[infosys/glue2]

[infosys/cluster]

[queue:fork]
EOF
    # arc-arex-ws-start otherwise starts `openssl dhparam 4096` in the background (minutes of
    # CPU); a DSA-style 2048-bit one takes 0.4 s and passes its `openssl dhparam -check`
    [ -s "$A/control/dhparam.pem" ] || (umask 0177; openssl dhparam -dsaparam -out "$A/control/dhparam.pem" 2048 2>/dev/null)
    /usr/lib/arc/arcconfig-parser --config "$A/arc.conf" --runconfig "$A/run/arex.cfg" --save
    # what arc-arex-start generates, plus InfoproviderWakeupPeriod (unit: 1/10 s)
    cat > "$A/run/arex.xml" <<EOF
<?xml version="1.0"?>
<ArcConfig xmlns="http://www.nordugrid.org/schemas/ArcConfig/2007" xmlns:arex="http://www.nordugrid.org/schemas/a-rex/Config">
  <Server>
    <PidFile>$A/run/arex.pid</PidFile>
    <Logger><File>$A/log/arex.log</File><Level>INFO</Level></Logger>
    <Watchdog>false</Watchdog>
  </Server>
  <ModuleManager><Path>/usr/lib/arc/</Path></ModuleManager>
  <Plugins><Name>arex</Name></Plugins>
  <Chain>
    <Service name="a-rex" id="a-rex">
      <arex:endpoint>https://localhost:$PORT/arex</arex:endpoint>
      <arex:gmconfig>$A/run/arex.cfg</arex:gmconfig>
      <arex:InfoproviderWakeupPeriod>$((INFO_PERIOD * 10))</arex:InfoproviderWakeupPeriod>
    </Service>
  </Chain>
</ArcConfig>
EOF
}

ready() { ss -Hltn "sport = :$PORT" | grep -q . && [ -s "$A/control/info.xml" ]; }

stop() {
    local pids="" f p
    for f in "$A/run/arex-ws.pid" "$A/run/arex.pid"; do
        if alive "$f"; then p=$(cat "$f"); kill "$p" 2>/dev/null || true; pids="$pids $p"; fi
    done
    # arched needs 3-10 s after SIGTERM; an A-REX started meanwhile fails with "Error adding
    # communication interface in .../control. Maybe another instance of A-REX is already running."
    for p in $pids; do
        for _ in $(seq 300); do gone "$p" && break; sleep 0.1; done
        gone "$p" || kill -9 "$p" 2>/dev/null || true
    done
    rm -f "$A/run/arex.pid" "$A/run/arex-ws.pid"
}

start() {
    install_pkgs
    [ -s "$GRIDCA/ca/ca.pem" ] || GRIDCA_BASE=$GRIDCA "$HERE/gridca.sh" start >/dev/null
    write_conf
    cat "$A/arc.conf" "$A/run/arex.xml" > "$A/run/config.new"
    if { alive "$A/run/arex.pid" || alive "$A/run/arex-ws.pid"; } && ! cmp -s "$A/run/config.new" "$A/run/config.running"; then
        stop
    fi
    mv -f "$A/run/config.new" "$A/run/config.running"
    export X509_USER_CERT=$GRIDCA/host/hostcert.pem X509_USER_KEY=$GRIDCA/host/hostkey.pem \
        X509_CERT_DIR=$GRIDCA/certificates TMPDIR=$A/tmp HOSTNAME=localhost
    if ! alive "$A/run/arex.pid"; then
        rm -f "$A/control/info.xml"
        (cd "$A/log" && /usr/sbin/arched -c "$A/run/arex.xml") 9>&-   # daemonizes, writes the pid file
    fi
    if ! alive "$A/run/arex-ws.pid"; then
        # validates arc.conf (arc-config-check) and execs arched, which daemonizes
        ARC_CONFIG=$A/arc.conf /usr/share/arc/arc-arex-ws-start > "$A/log/arex-ws-start.out" 2>&1 9>&- || {
            cat "$A/log/arex-ws-start.out" >&2; exit 1; }
    fi
    for _ in $(seq 300); do ready && break; sleep 0.2; done
    ready || { echo "A-REX not ready after 60 s; see $A/log/arex.log" >&2; exit 1; }
    status
}

status() {
    local f rc=0
    for f in arex arex-ws; do
        if alive "$A/run/$f.pid"; then echo "$f: arched pid $(cat "$A/run/$f.pid")"; else echo "$f: stopped"; rc=1; fi
    done
    if ss -Hltn "sport = :$PORT" | grep -q .; then
        echo "REST endpoint https://localhost:$PORT/arex (fork LRMS, info period ${INFO_PERIOD}s)"
    else
        rc=1
    fi
    return $rc
}

mkdir -p /tmp/infra
exec 9>/tmp/infra/arc.sh.lock
flock 9
case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
