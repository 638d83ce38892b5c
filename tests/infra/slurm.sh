#!/usr/bin/env bash
# Single-node Slurm (Debian 12 slurm-wlm 22.05 + munge) on localhost for pipekit's tests and W4.
# All daemons as root, fast scheduler settings, more CPUs and memory advertised than exist.
# Memory is a scheduled resource and --mem is enforced: with cgroups (v1 memory controller) when
# this machine lets slurmd create them, else by jobacct_gather's OverMemoryKill. A job without
# --mem gets DefMemPerCPU (4 GB per CPU), so jobs that asked for nothing still run as before.
#
# usage: tests/infra/slurm.sh start|stop|status|restart-controller
#   start               install when missing, (re)write the config, start what is not running;
#                       idempotent. When the config changed (e.g. SLURM_ACCOUNTING switched), the
#                       Slurm daemons are restarted; job state survives (StateSaveLocation).
#   stop                stop every daemon this script started, by PID
#   restart-controller  kill slurmctld and start it again (jobs survive), wait until usable
# env knobs:
#   SLURM_ACCOUNTING=1  also run MariaDB + slurmdbd so that `sacct` works (default 0: sacct fails
#                       with "Slurm accounting storage is disabled")
#   SLURM_CPUS=N        CPUs advertised for the node (default 32: many concurrent 1-CPU jobs)
#   SLURM_MIN_JOB_AGE=S seconds a finished job stays visible in squeue/scontrol (default 5:
#                       short, so that tests see jobs leave the queue; real clusters use 300+)
#   SLURM_MEMORY=M      how --mem is enforced: auto (default: cgroup when possible, else acct),
#                       cgroup (task/cgroup: the kernel kills, the job ends OUT_OF_MEMORY), acct
#                       (jobacct_gather/linux + OverMemoryKill: slurmstepd kills, the job ends
#                       FAILED and its log says "exceeded memory limit"), none (not enforced)
# clients need:  export SLURM_CONF=/tmp/infra/slurm/etc/slurm.conf
set -euo pipefail
BASE=/tmp/infra/slurm
DBB=/tmp/infra/slurmdb
export SLURM_CONF=$BASE/etc/slurm.conf
HOST=$(hostname -s)
CPUS=${SLURM_CPUS:-32}
MIN_JOB_AGE=${SLURM_MIN_JOB_AGE:-5}
ACCT=${SLURM_ACCOUNTING:-0}
MEMORY=${SLURM_MEMORY:-auto}
MEM_PER_CPU=4096

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }
stop_pid() {
    local pid
    alive "$1" || { rm -f "$1"; return 0; }
    pid=$(cat "$1"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do { kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; } || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null && ! ps -o stat= -p "$pid" | grep -q Z; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$1"
}

install_pkgs() {
    # the accounting packages too, so that switching SLURM_ACCOUNTING on later needs no install
    local pkgs="slurm-wlm munge slurmdbd mariadb-server"
    # shellcheck disable=SC2086
    if ! dpkg -s $pkgs >/dev/null 2>&1; then
        # the mirror comes from the machine's own apt configuration
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
    fi
}

# whether slurmd can use the cgroup v1 memory controller here (containers often cannot)
cgroup_ok() {
    local probe=/sys/fs/cgroup/memory/pipekit_probe.$$
    [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] || return 1
    mkdir "$probe" 2>/dev/null || return 1
    rmdir "$probe"
}

memory_mode() {
    case "$MEMORY" in
        auto) if cgroup_ok; then echo cgroup; else echo acct; fi ;;
        cgroup|acct|none) echo "$MEMORY" ;;
        *) echo "SLURM_MEMORY=$MEMORY: use auto, cgroup, acct or none" >&2; return 2 ;;
    esac
}

slurm_conf() {
    local acct mem_lines node_mem=""
    if [ "$ACCT" = 1 ]; then
        acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819"
    else
        acct="AccountingStorageType=accounting_storage/none"
    fi
    case "$1" in
        cgroup) mem_lines="ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/linux
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$MEM_PER_CPU" ;;
        acct) mem_lines="ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$MEM_PER_CPU" ;;
        none) mem_lines="ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectTypeParameters=CR_Core" ;;
    esac
    [ "$1" = none ] || node_mem=" RealMemory=$((CPUS * MEM_PER_CPU))"
    cat <<EOF
ClusterName=infra
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SelectType=select/cons_tres
$mem_lines
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MpiDefault=none
SwitchType=switch/none
$acct
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
MinJobAge=$MIN_JOB_AGE
MaxArraySize=100001
MaxJobCount=200000
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${CPUS}${node_mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# writes the config; prints what must restart to apply it: none, controller or node
write_conf() {
    mkdir -p $BASE/etc $BASE/state $BASE/spool $BASE/log $BASE/run
    local new change=none mode
    mode=$(memory_mode)
    new=$(mktemp $BASE/etc/slurm.conf.XXXXXX)
    slurm_conf "$mode" > "$new"
    if [ ! -f "$SLURM_CONF" ]; then
        change=node
    elif ! cmp -s "$new" "$SLURM_CONF"; then
        change=controller
        # a different node definition needs slurmd restarted; anything else a reconfigure
        [ "$(grep ^NodeName "$new")" = "$(grep ^NodeName "$SLURM_CONF")" ] || change=node
    fi
    # a different process tracking or task plugin needs slurmd restarted too
    [ "$(grep -E '^(Proctrack|Task)' "$new")" = "$(grep -E '^(Proctrack|Task)' "$SLURM_CONF" 2>/dev/null)" ] || change=node
    chmod 644 "$new"
    mv -f "$new" "$SLURM_CONF"
    # read by task/cgroup and proctrack/cgroup only; RAM limit = the job's memory, no swap
    cat > $BASE/etc/cgroup.conf <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
CgroupAutomount=no
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0
EOF
    cat > $BASE/etc/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$DBB/run/slurmdbd.pid
LogFile=$DBB/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
EOF
    chmod 600 $BASE/etc/slurmdbd.conf
    echo $change
}

start_munge() {
    # Debian's default key (/etc/munge/munge.key) and socket (/run/munge), run as the munge user
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged 9>&-
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "munged did not come up" >&2; return 1
}

start_accounting() {
    mkdir -p $DBB/mysql $DBB/run $DBB/log
    chown -R mysql:mysql $DBB/mysql $DBB/run $DBB/log
    [ -d $DBB/mysql/mysql ] || mariadb-install-db --datadir=$DBB/mysql --user=mysql \
        --auth-root-authentication-method=socket --skip-test-db > $DBB/log/install-db.log 2>&1
    if ! alive $DBB/run/mysqld.pid; then
        nohup mariadbd --user=mysql --datadir=$DBB/mysql --socket=$DBB/run/mysql.sock \
            --pid-file=$DBB/run/mysqld.pid --port=3306 --bind-address=127.0.0.1 --skip-log-bin \
            --innodb-buffer-pool-size=64M --log-error=$DBB/log/mysqld.err > /dev/null 2>&1 9>&- &
        for _ in $(seq 100); do mariadb --socket=$DBB/run/mysql.sock -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    mariadb --socket=$DBB/run/mysql.sock -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"
    alive $DBB/run/slurmdbd.pid || slurmdbd 9>&-  # reads slurmdbd.conf next to $SLURM_CONF
    for _ in $(seq 100); do sacctmgr -n show cluster >/dev/null 2>&1 && break; sleep 0.1; done
    sacctmgr -n show cluster format=cluster | grep -qw infra || sacctmgr -i add cluster infra >/dev/null
}

wait_node() {
    # after a (re)start the node is "unk" for a few seconds
    local st
    for _ in $(seq 200); do
        st=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
        case "$st" in idle*|mix*|alloc*) return 0;; esac
        sleep 0.1
    done
    echo "slurm node $HOST did not become usable (state: ${st:-none}); see $BASE/log" >&2
    return 1
}

start_controller() {
    alive $BASE/run/slurmctld.pid && return 0
    slurmctld -f $SLURM_CONF 9>&-
    # wait until it answers
    for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && return 0; sleep 0.1; done
}

start() {
    install_pkgs
    local change
    change=$(write_conf)
    start_munge
    if [ "$ACCT" = 1 ]; then
        start_accounting
    else
        stop_pid $DBB/run/slurmdbd.pid
        stop_pid $DBB/run/mysqld.pid
    fi
    # a changed config restarts the controller only (jobs survive it, as with
    # restart-controller) and reconfigures slurmd: running jobs of other sessions are kept
    [ "$change" = node ] && stop_pid $BASE/run/slurmd.pid
    [ "$change" != none ] && stop_pid $BASE/run/slurmctld.pid
    start_controller
    if ! alive $BASE/run/slurmd.pid; then
        slurmd -f $SLURM_CONF 9>&-
    elif [ "$change" = controller ]; then
        scontrol reconfigure
    fi
    wait_node
    sinfo
}

stop() {
    stop_pid $BASE/run/slurmd.pid
    stop_pid $BASE/run/slurmctld.pid
    stop_pid $DBB/run/slurmdbd.pid
    stop_pid $DBB/run/mysqld.pid
    stop_pid /run/munge/munged.pid
}

restart_controller() {
    stop_pid $BASE/run/slurmctld.pid
    start_controller
    wait_node
}

# one invocation at a time: several people's test sessions may start the cluster at once.
# Daemons are started with fd 9 closed (9>&-), or they would hold this lock forever.
mkdir -p /tmp/infra
exec 9>/tmp/infra/slurm.sh.lock
flock 9

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    restart-controller) restart_controller ;;
    status) sinfo; squeue ;;
    *) echo "usage: $0 start|stop|status|restart-controller" >&2; exit 2 ;;
esac
