#!/usr/bin/env bash
# VOMS server 2.1 (Debian 12 voms-server + voms-mysql-plugin) for the test VO "pipekit" on
# localhost:15000, backed by its own MariaDB on 127.0.0.1:3307 (data under $VOMS_BASE/mysql).
# Trusts the CA of tests/infra/gridca.sh (started first when missing). Members: the Test User
# only, in /pipekit and /pipekit/prod, with the role /pipekit/Role=production; the Other User is
# deliberately unknown.
#
# usage: tests/infra/voms.sh start|stop|status
#   start   install when missing, initialise the database once, start MariaDB and vomsd unless
#           they run; (re)make $GRIDCA_BASE/proxy/x509up_voms (12 h, FQANs /pipekit and
#           /pipekit/prod) when missing or past half its lifetime; idempotent
#   stop    stop vomsd and MariaDB, by PID
# env knobs: VOMS_BASE=/tmp/infra/voms  GRIDCA_BASE=/tmp/infra/gridca  VOMS_PORT=15000
#            VOMS_DB_PORT=3307
# clients:   . /tmp/infra/gridca/env.sh; voms-proxy-init --voms pipekit -rfc -valid 12:00
#
# Changes against the prototype (shared/recipes/voms.sh; its MariaDB step works as written with
# Debian 12's MariaDB 10.11): state under /tmp/infra; the proxy is 12 h and only remade when
# stale; one start at a time (flock; daemons start with the lock's fd closed); status exits 1
# when a daemon is down; stop waits for vomsd by PID (it forks and has no pid-file option).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
V=${VOMS_BASE:-/tmp/infra/voms}
GRIDCA=${GRIDCA_BASE:-/tmp/infra/gridca}
VO=pipekit
VOMS_PORT=${VOMS_PORT:-15000}
DB_PORT=${VOMS_DB_PORT:-3307}
SOCK=$V/run/mysql.sock
DB=voms_$VO
M="mariadb --no-defaults --socket=$SOCK"

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }
gone() { ! kill -0 "$1" 2>/dev/null || ps -o stat= -p "$1" | grep -q Z; }
stop_pid() {
    local pid
    alive "$1" || { rm -f "$1"; return 0; }
    pid=$(cat "$1"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do gone "$pid" && break; sleep 0.1; done
    gone "$pid" || kill -9 "$pid" 2>/dev/null || true
    rm -f "$1"
}
dn() { openssl x509 -in "$1" -noout -subject -nameopt compat | sed 's/^subject=//'; }

install_pkgs() {
    local pkgs="voms-server voms-mysql-plugin voms-clients mariadb-server mariadb-client"
    # shellcheck disable=SC2086
    if ! dpkg -s $pkgs >/dev/null 2>&1; then
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
            --no-install-recommends $pkgs >/dev/null
    fi
}

db_up() { $M -e 'select 1' >/dev/null 2>&1; }

start_db() {
    mkdir -p "$V/mysql" "$V/run" "$V/log"
    chown -R mysql:mysql "$V/mysql" "$V/run" "$V/log"
    [ -d "$V/mysql/mysql" ] || mariadb-install-db --no-defaults --datadir="$V/mysql" --user=mysql \
        --auth-root-authentication-method=socket --skip-test-db > "$V/log/install-db.log" 2>&1
    if ! alive "$V/run/mysqld.pid"; then
        nohup mariadbd --no-defaults --user=mysql --datadir="$V/mysql" --socket="$SOCK" \
            --pid-file="$V/run/mysqld.pid" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-log-bin \
            --innodb-buffer-pool-size=32M --log-error="$V/log/mysqld.err" > /dev/null 2>&1 9>&- &
        for _ in $(seq 300); do db_up && break; sleep 0.1; done
    fi
    db_up || { echo "MariaDB did not start on port $DB_PORT; see $V/log/mysqld.err" >&2; exit 1; }
}

# what voms_install_db does, without writing to /etc/voms: schema, bootstrap rows, CA, members
init_db() {
    [ -n "$($M -N -e "SHOW DATABASES LIKE '$DB'")" ] && return 0
    local cadn userdn
    cadn=$(dn "$GRIDCA/ca/ca.pem")   # slash form (openssl 3's default is "DC = org, ...")
    userdn=$(dn "$GRIDCA/user/usercert.pem")
    $M -e "CREATE DATABASE $DB"
    $M "$DB" < /usr/share/voms/voms-mysql.data
    $M "$DB" <<EOF
INSERT INTO ca VALUES (1, '/O=VOMS/O=System/CN=Dummy Certificate Authority', 'dummy CA');
INSERT INTO ca VALUES (2, '/O=VOMS/O=System/CN=Authorization Manager Attributes', 'authz manager attributes');
INSERT INTO ca VALUES (3, '/O=VOMS/O=System/CN=VOMS Group', 'VO group');
INSERT INTO ca VALUES (4, '/O=VOMS/O=System/CN=VOMS Role', 'VO role');
INSERT INTO ca VALUES (5, '/O=VOMS/O=System/CN=VOMS Capability', 'VO capability');
INSERT INTO admins VALUES (1, '/O=VOMS/O=System/CN=Local Database Administrator', '', 1);
INSERT INTO admins VALUES (2, '/$VO/Role=VO-Admin', '', 4);
INSERT INTO groups VALUES (1, '/$VO', 1, 1);
INSERT INTO roles VALUES (1, 'VO-Admin');
INSERT INTO seqnumber VALUES ('00');
INSERT INTO version (version) VALUES (2);
INSERT INTO ca VALUES (6, '$cadn', 'Pipekit Test CA');
INSERT INTO groups VALUES (2, '/$VO/prod', 1, 1);
INSERT INTO roles VALUES (2, 'production');
INSERT INTO usr (userid, dn, ca, cn, mail) VALUES (1, '$userdn', 6, 'Test User', 'test@localhost');
INSERT INTO m (userid, gid, rid) VALUES (1, 1, NULL), (1, 2, NULL), (1, 1, 2);
CREATE USER IF NOT EXISTS '$DB'@'localhost' IDENTIFIED BY 'vomspw';
CREATE USER IF NOT EXISTS '$DB'@'127.0.0.1' IDENTIFIED BY 'vomspw';
GRANT SELECT, LOCK TABLES ON $DB.* TO '$DB'@'localhost';
GRANT SELECT, LOCK TABLES ON $DB.* TO '$DB'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

write_conf() {
    echo vomspw > "$V/voms.pass"
    chmod 0640 "$V/voms.pass"   # vomsd insists on exactly 0640 ("Wrong permissions of password file!")
    # no --newformat (voms_install_db adds it): ARC (arcproxy -I, A-REX) rejects new-format ACs
    # with "VOMS: the holder name in AC is not related to the distinguished name in holder certificate"
    cat > "$V/voms.conf" <<EOF
--vo=$VO
--port=$VOMS_PORT
--dbname=$DB
--username=$DB
--passfile=$V/voms.pass
--sqlloc=/usr/lib/voms/libvomsmysql.so
--contactstring=127.0.0.1
--mysql-port=$DB_PORT
--logfile=$V/log/voms.$VO
--loglevel=4
--socktimeout=30
--timeout=86400
--uri=localhost:$VOMS_PORT
--x509_cert_dir=$GRIDCA/certificates
--x509_user_cert=$GRIDCA/host/hostcert.pem
--x509_user_key=$GRIDCA/host/hostkey.pem
EOF
    # client side: the vomses entry and the LSC file (VOMS host DN, then its CA's DN)
    local hostdn cadn
    hostdn=$(dn "$GRIDCA/host/hostcert.pem"); cadn=$(dn "$GRIDCA/ca/ca.pem")
    mkdir -p "$GRIDCA/vomses" "$GRIDCA/vomsdir/$VO"
    chmod 0755 "$GRIDCA/vomsdir/$VO"
    echo "\"$VO\" \"localhost\" \"$VOMS_PORT\" \"$hostdn\" \"$VO\"" > "$GRIDCA/vomses/$VO"
    printf '%s\n%s\n' "$hostdn" "$cadn" > "$GRIDCA/vomsdir/$VO/localhost.lsc"
    chmod 0644 "$GRIDCA/vomses/$VO" "$GRIDCA/vomsdir/$VO/localhost.lsc"
}

# vomsd forks even with --foreground and has no pid-file option: find it by its command line
find_voms_pid() {
    ps -eo pid=,stat=,args= | awk -v c="voms --conf $V/voms.conf" \
        '$2 !~ /Z/ { p=$1; $1=""; $2=""; sub(/^  */, ""); if ($0 == c) print p }' | head -1
}

voms_up() { alive "$V/run/voms.pid" && ss -Hltn "sport = :$VOMS_PORT" | grep -q .; }

start() {
    install_pkgs
    [ -s "$GRIDCA/ca/ca.pem" ] || GRIDCA_BASE=$GRIDCA "$HERE/gridca.sh" start >/dev/null
    start_db
    init_db
    write_conf
    if ! alive "$V/run/voms.pid"; then
        local pid=""
        (cd "$V" && voms --conf "$V/voms.conf") > "$V/log/voms.out" 2>&1 9>&-
        for _ in $(seq 100); do
            pid=$(find_voms_pid)
            [ -n "$pid" ] && ss -Hltn "sport = :$VOMS_PORT" | grep -q . && break
            sleep 0.1
        done
        [ -n "$pid" ] || { echo "vomsd did not start:" >&2; cat "$V/log/voms.out" >&2; exit 1; }
        echo "$pid" > "$V/run/voms.pid"
    fi
    local proxy=$GRIDCA/proxy/x509up_voms
    if ! { [ -s "$proxy" ] && openssl x509 -in "$proxy" -noout -checkend 21600 >/dev/null 2>&1; }; then
        # shellcheck disable=SC1091
        . "$GRIDCA/env.sh"
        voms-proxy-init -quiet --voms "$VO" -rfc -valid 12:00 -out "$proxy.tmp" 2>"$V/log/proxy-init.err" || {
            echo "voms-proxy-init --voms $VO failed:" >&2; cat "$V/log/proxy-init.err" >&2; exit 1; }
        chmod 0600 "$proxy.tmp"
        mv -f "$proxy.tmp" "$proxy"
    fi
    status
}

status() {
    local rc=0
    if voms_up; then echo "vomsd pid $(cat "$V/run/voms.pid") on localhost:$VOMS_PORT (VO $VO)"; else echo "vomsd stopped"; rc=1; fi
    if alive "$V/run/mysqld.pid"; then echo "mariadbd pid $(cat "$V/run/mysqld.pid") on 127.0.0.1:$DB_PORT"; else echo "mariadbd stopped"; rc=1; fi
    return $rc
}

stop() {
    stop_pid "$V/run/voms.pid"
    stop_pid "$V/run/mysqld.pid"
}

mkdir -p /tmp/infra
exec 9>/tmp/infra/voms.sh.lock
flock 9
case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
