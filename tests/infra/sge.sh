#!/usr/bin/env bash
# Single-node Son of Grid Engine 8.1.9 (Debian 12 gridengine-master/-exec/-client) on localhost for
# pipekit's tests: sge_qmaster on 6444, sge_execd on 6445, with its own SGE_ROOT, cell and spool
# under /tmp/infra/sge (Debian's /var/lib/gridengine cell, made by the package, is left alone).
# Root may submit (min_uid/min_gid 0), the scheduler dispatches every second and on every
# submit/finish, accounting (qacct) is on.
#
# usage: tests/infra/sge.sh start|stop|status|env
#   start   install when missing, make the cell once, start what is not running, (re)apply the
#           cluster settings; idempotent
#   stop    stop sge_execd and sge_qmaster by PID (running jobs end with the execd)
#   env     print the client environment (also in /tmp/infra/sge/env.sh)
# env knobs: SGE_SLOTS (default 16: slots of all.q, more than the 2 cores, so that many short
#            jobs run at once, as SLURM_CPUS does for Slurm)
# clients:   . /tmp/infra/sge/env.sh   (SGE_ROOT, SGE_CELL, SGE_QMASTER_PORT, SGE_EXECD_PORT)
set -euo pipefail
S=/tmp/infra/sge
export SGE_ROOT=$S/root SGE_CELL=default SGE_QMASTER_PORT=6444 SGE_EXECD_PORT=6445
# the wrappers in /usr/bin read /etc/default/gridengine, then fall back to the Debian cell: the
# variables above win over both
HOST=$(hostname)   # must resolve (here "vm" -> 127.0.0.1 in /etc/hosts); SGE refuses otherwise
SLOTS=${SGE_SLOTS:-16}
COMMON=$SGE_ROOT/$SGE_CELL/common
QM_PID=$S/qmaster/qmaster.pid   # sge_qmaster writes it into its spool directory
# sge_execd writes its pid into <execd_spool_dir>/<its host name>/, the name it resolved (which
# may be the alias "localhost", see host_aliases)
ex_pid() { local f; for f in $S/execd/*/execd.pid; do [ -f "$f" ] && { echo "$f"; return; }; done; echo $S/execd/none.pid; }

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }
stop_pid() {
    local pid
    alive "$1" || { rm -f "$1"; return 0; }
    pid=$(cat "$1"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 150); do { kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; } || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$1"
}

install_pkgs() {
    local pkgs="gridengine-master gridengine-exec gridengine-client"
    # shellcheck disable=SC2086
    if ! dpkg -s $pkgs >/dev/null 2>&1; then
        # the mirror comes from the machine's own apt configuration
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # pulls exim4 + bsd-mailx as hard dependencies; nothing starts (no systemd, policy-rc.d)
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
            --no-install-recommends $pkgs >/dev/null
    fi
}

init_cell() {
    [ -e $S/spooldb/.pipekit-initialised ] && return 0
    rm -rf $S/root $S/spooldb $S/qmaster $S/execd
    mkdir -p $COMMON $S/spooldb $S/qmaster $S/execd $S/tmp $S/log
    for d in bin lib utilbin util; do ln -sfn /var/lib/gridengine/$d $SGE_ROOT/$d; done
    cat > $COMMON/bootstrap <<EOF
# Version: 6.2
admin_user              sgeadmin
default_domain          none
ignore_fqdn             true
spooling_method         berkeleydb
spooling_lib            libspoolb
spooling_params         $S/spooldb
binary_path             /usr/sbin
qmaster_spool_dir       $S/qmaster
security_mode           none
listener_threads        2
worker_threads          2
scheduler_threads       1
EOF
    echo "$HOST" > $COMMON/act_qmaster
    host_aliases
    sed -e "s|^execd_spool_dir .*|execd_spool_dir        $S/execd|" \
        -e 's|^min_uid .*|min_uid                0|' -e 's|^min_gid .*|min_gid                0|' \
        -e 's|^load_report_time .*|load_report_time       00:00:05|' \
        -e 's|^max_unheard .*|max_unheard            00:01:00|' \
        -e 's|^reporting_params .*|reporting_params       accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00|' \
        /usr/share/gridengine/default-configuration > $S/global.conf
    # what Debian's /usr/share/gridengine/scripts/init_cluster does, with our paths
    /usr/lib/gridengine/spoolinit berkeleydb libspoolb $S/spooldb init >/dev/null
    /usr/lib/gridengine/spooldefaults configuration $S/global.conf
    /usr/lib/gridengine/spooldefaults complexes /usr/share/gridengine/util/resources/centry
    /usr/lib/gridengine/spooldefaults usersets /usr/share/gridengine/util/resources/usersets
    /usr/lib/gridengine/spooldefaults managers sgeadmin
    /usr/lib/gridengine/spooldefaults managers root
    chown -R sgeadmin:sgeadmin $S/spooldb $S/qmaster $S/execd $SGE_ROOT/$SGE_CELL
    touch $S/spooldb/.pipekit-initialised
}

host_aliases() {
    # the host's address may resolve back to another name than the host calls itself (here
    # 127.0.0.1 -> "localhost" while the host is "vm"): the qmaster then refuses its own clients
    # ("IP based host name resolving localhost doesn't match client host name ..."). Grid
    # Engine's own aliases file fixes that without touching /etc/hosts.
    local ip back
    ip=$(getent hosts "$HOST" | awk '{print $1; exit}')
    if [ -z "$ip" ]; then
        echo "the host name '$HOST' does not resolve; Grid Engine needs it (add it to /etc/hosts)" >&2
        return 1
    fi
    back=$(getent hosts "$ip" | awk '{print $2; exit}')
    if [ -n "$back" ] && [ "$back" != "$HOST" ]; then
        echo "$HOST $back" > $COMMON/host_aliases
    else
        rm -f $COMMON/host_aliases
    fi
}

write_env() {
    cat > $S/env.sh <<EOF
export SGE_ROOT=$SGE_ROOT SGE_CELL=$SGE_CELL SGE_QMASTER_PORT=$SGE_QMASTER_PORT SGE_EXECD_PORT=$SGE_EXECD_PORT
EOF
}

configure_cluster() {
    qconf -ah "$HOST" >/dev/null 2>&1 || true      # admin host (needed before execd may register)
    qconf -as "$HOST" >/dev/null 2>&1 || true      # submit host
    # scheduler: dispatch on every submit/finish, 1 s interval (default 15 s)
    qconf -ssconf | sed -e 's|^schedule_interval .*|schedule_interval                 0:0:1|' \
        -e 's|^flush_submit_sec .*|flush_submit_sec                  1|' \
        -e 's|^flush_finish_sec .*|flush_finish_sec                  1|' > $S/sched.conf
    qconf -Msconf $S/sched.conf >/dev/null 2>&1
    # a parallel environment for multi-slot jobs (the "-pe smp N" of pipekit's cpus setting)
    cat > $S/pe_smp.conf <<EOF
pe_name            smp
slots              $SLOTS
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
    if qconf -sp smp >/dev/null 2>&1; then qconf -Mp $S/pe_smp.conf >/dev/null 2>&1; else qconf -Ap $S/pe_smp.conf >/dev/null 2>&1; fi
    sed -e "s|@HOST@|$HOST|" -e "s|@SLOTS@|$SLOTS|" -e "s|@TMP@|$S/tmp|" > $S/allq.conf <<'EOF'
qname                 all.q
hostlist              @HOST@
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               make smp
rerun                 FALSE
slots                 @SLOTS@
tmpdir                @TMP@
shell                 /bin/bash
prolog                NONE
epilog                NONE
shell_start_mode      unix_behavior
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
EOF
    if qconf -sq all.q >/dev/null 2>&1; then qconf -Mq $S/allq.conf >/dev/null 2>&1; else qconf -Aq $S/allq.conf >/dev/null 2>&1; fi
}

queue_ready() {
    # ready = the queue instance has a load report (state column empty, not "au"/"u")
    local line
    line=$(qstat -f -q all.q 2>/dev/null | awk -v q="all.q@$HOST" '$1==q') || return 1
    [ -n "$line" ] && [ -z "$(echo "$line" | awk '{print $6}')" ]
}

start() {
    install_pkgs
    init_cell
    host_aliases
    write_env
    if ! alive $QM_PID; then
        # as the init script does: sge_qmaster daemonizes itself; fd 9 (the lock) must not leak
        (cd $S/log && /usr/sbin/sge_qmaster 9>&-)
        for _ in $(seq 100); do timeout 5 qstat >/dev/null 2>&1 && break; sleep 0.2; done
        timeout 5 qstat >/dev/null 2>&1 || { echo "sge_qmaster did not come up; see $S/qmaster/messages" >&2; return 1; }
    fi
    configure_cluster
    if ! alive "$(ex_pid)"; then
        (cd $S/log && /usr/sbin/sge_execd 9>&-)
        for _ in $(seq 150); do [ -s "$(ex_pid)" ] && break; sleep 0.1; done
    fi
    for _ in $(seq 300); do queue_ready && break; sleep 0.2; done
    queue_ready || { echo "all.q@$HOST did not become usable; see $S/execd/$HOST/messages" >&2; qstat -f >&2 || true; return 1; }
    status
}

running() { kill -0 "$1" 2>/dev/null && ! ps -o stat= -p "$1" | grep -q Z; }

stop() {
    local qm=""
    alive $QM_PID && qm=$(cat $QM_PID)
    stop_pid "$(ex_pid)"
    [ -n "$qm" ] || return 0
    # qconf -km shuts the qmaster down cleanly (berkeleydb spool); it removes its pid file before
    # it has exited, so wait for the process itself, and end it by PID if it will not go
    qconf -km >/dev/null 2>&1 || kill "$qm" 2>/dev/null || true
    for _ in $(seq 200); do running "$qm" || break; sleep 0.1; done
    if running "$qm"; then kill "$qm" 2>/dev/null || true; sleep 2; fi
    if running "$qm"; then kill -9 "$qm" 2>/dev/null || true; fi
    rm -f $QM_PID
}

status() {
    if alive $QM_PID; then echo "sge_qmaster pid $(cat $QM_PID) on :$SGE_QMASTER_PORT"; else echo "sge_qmaster stopped"; fi
    if alive "$(ex_pid)"; then echo "sge_execd pid $(cat "$(ex_pid)") on :$SGE_EXECD_PORT"; else echo "sge_execd stopped"; fi
    if alive $QM_PID; then qstat -f -q all.q || true; fi
    echo "clients: . $S/env.sh"
}

# one invocation at a time: several test sessions may start the cell at once
mkdir -p $S
exec 9>$S.sh.lock
flock 9

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) write_env; cat $S/env.sh ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
