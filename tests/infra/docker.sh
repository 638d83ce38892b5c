#!/usr/bin/env bash
# A local Docker engine (Debian docker.io 20.10) for pipekit's sandbox tests and the sandbox
# benchmark, plus the two test images, built locally because no image registry is reachable:
#   local/busybox:latest       busybox-static in an otherwise empty rootfs (~2 MB, 0.1 s)
#   local/debian-py:bookworm   Debian bookworm minbase + python3 (~260 MB, ~35 s the first time),
#                              made by debootstrap from the mirror this machine's apt already uses
# dockerd runs without iptables, NAT or the default bridge (containers get --network none) on
# overlay2. Images live in the engine's data root below /tmp/infra/docker and survive a
# stop/start, so only the first start builds them; the debootstrap rootfs is cached there, too.
#
# usage: tests/infra/docker.sh start|stop|status|images
#   start   install docker.io when missing, start dockerd when not running, build missing images;
#           idempotent
#   stop    kill running containers, stop dockerd (and the containerd it started) by PID
#   status  exit 0 when dockerd answers, 1 otherwise
#   images  build the missing test images (start does this, too)
# env knobs: DOCKER_STORAGE=overlay2 (default) or vfs
# clients use the default socket unix:///var/run/docker.sock
set -euo pipefail
BASE=/tmp/infra/docker
DRIVER=${DOCKER_STORAGE:-overlay2}
PIDFILE=$BASE/dockerd.pid
SOCK=/var/run/docker.sock
BUSYBOX_IMAGE=local/busybox:latest
PYTHON_IMAGE=local/debian-py:bookworm

# running and not a zombie (kill -0 alone is true for an unreaped zombie)
alive() { [ -f "$1" ] && local p && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" | grep -q Z; }
pid_alive() { kill -0 "$1" 2>/dev/null && ! ps -o stat= -p "$1" | grep -q Z; }

# the Debian mirror this machine's apt already uses (never hard-code a mirror host)
apt_mirror() {
    { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true;
      grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' || true; } \
      | grep -v security | head -n 1 || true
}

apt_install() {
    [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_up() { docker -H "unix://$SOCK" info >/dev/null 2>&1; }

start_engine() {
    command -v dockerd >/dev/null || apt_install docker.io
    mkdir -p "$BASE/data-$DRIVER" "$BASE/exec" "$BASE/log"
    if alive "$PIDFILE" && engine_up; then
        return 0
    fi
    nohup dockerd --data-root "$BASE/data-$DRIVER" --exec-root "$BASE/exec" --pidfile "$PIDFILE" \
        --iptables=false --ip-masq=false --bridge=none --storage-driver="$DRIVER" \
        -H "unix://$SOCK" > "$BASE/log/dockerd.log" 2>&1 &
    for _ in $(seq 150); do engine_up && break; sleep 0.2; done
    if ! engine_up; then
        echo "dockerd did not come up; last lines of $BASE/log/dockerd.log:" >&2
        tail -n 20 "$BASE/log/dockerd.log" >&2
        exit 1
    fi
}

build_busybox() {
    docker image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1 && return 0
    [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx sh || apt_install busybox-static
    rm -rf "$BASE/bb" && mkdir -p "$BASE/bb/bin" "$BASE/bb/tmp" "$BASE/bb/etc"
    cp /bin/busybox "$BASE/bb/bin/"
    for a in sh echo cat ls hostname sleep id env true false uname mkdir rm cp mv; do
        ln -s busybox "$BASE/bb/bin/$a"
    done
    chmod 1777 "$BASE/bb/tmp"
    tar -C "$BASE/bb" -c . | docker import - "$BUSYBOX_IMAGE" >/dev/null
}

build_python() {
    docker image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 && return 0
    if [ ! -x "$BASE/rootfs/usr/bin/python3" ]; then
        command -v debootstrap >/dev/null || apt_install debootstrap
        local mirror
        mirror=$(apt_mirror)
        [ -n "$mirror" ] || { echo "no Debian mirror found in this machine's apt sources" >&2; exit 1; }
        rm -rf "$BASE/rootfs"
        debootstrap --variant=minbase --include=python3 bookworm "$BASE/rootfs" "$mirror" \
            > "$BASE/log/debootstrap.log" 2>&1 || {
            echo "debootstrap failed; see $BASE/log/debootstrap.log" >&2; tail -n 20 "$BASE/log/debootstrap.log" >&2; exit 1; }
    fi
    tar -C "$BASE/rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$PYTHON_IMAGE" >/dev/null
}

images() {
    build_busybox
    build_python
    docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^local/'
}

stop() {
    if alive "$PIDFILE"; then
        local pid
        pid=$(cat "$PIDFILE")
        docker ps -q 2>/dev/null | xargs -r docker kill >/dev/null 2>&1 || true
        kill "$pid"
        for _ in $(seq 150); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    # the containerd that dockerd started for itself (its pid file lives in our exec root)
    local cpid
    for f in "$BASE"/exec/containerd/containerd.pid "$BASE"/exec/libcontainerd/docker-containerd.pid; do
        [ -f "$f" ] || continue
        cpid=$(cat "$f")
        if [ -n "$cpid" ] && pid_alive "$cpid"; then
            kill "$cpid" 2>/dev/null || true
            for _ in $(seq 50); do pid_alive "$cpid" || break; sleep 0.1; done
        fi
    done
}

case "${1:-start}" in
    start) start_engine; images; docker info --format 'dockerd {{.ServerVersion}} ({{.Driver}}) ready' ;;
    images) images ;;
    stop) stop ;;
    status) alive "$PIDFILE" && engine_up ;;
    *) echo "usage: $0 start|stop|status|images" >&2; exit 2 ;;
esac
