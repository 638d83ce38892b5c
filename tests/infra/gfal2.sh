#!/usr/bin/env bash
# gfal2 and its Python bindings (Debian 12 python3-gfal2, built for /usr/bin/python3) made
# importable from the project's virtual environment (and any other venv given as argument).
#
# usage: tests/infra/gfal2.sh start [VENV ...]   install when missing, add the import shim to
#                                                 each venv that exists (default: ./.venv and
#                                                 bench/.venv-law); idempotent
#        tests/infra/gfal2.sh shim VENV ...       only add the import shim (no apt; a no-op when
#                                                 python3-gfal2 is not installed), for venvs
#                                                 created after "start" ran (make test does this)
#        tests/infra/gfal2.sh stop                nothing to stop (no daemon)
#
# The shim: a directory holding only a symlink to the gfal2 extension module, and a .pth file in
# the venv's site-packages naming that directory. The venv's Python must be the same minor
# version as /usr/bin/python3 (3.11 on Debian 12). For gfal-* command-line tools also
#   export GFAL_PYTHONBIN=/usr/bin/python3
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHIM=${GFAL2_SHIM_DIR:-/tmp/infra/gfal2-pyshim}
PKGS="python3-gfal2 gfal2 gfal2-plugin-xrootd gfal2-plugin-http gfal2-plugin-file"

install_pkgs() {
    # shellcheck disable=SC2086
    if ! dpkg -s $PKGS >/dev/null 2>&1; then
        # the mirror comes from the machine's own apt configuration
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
    fi
}

shim_dir() {
    local so
    so=$(ls /usr/lib/python3/dist-packages/gfal2*.so 2>/dev/null | head -1)
    [ -n "$so" ] || { echo "python3-gfal2 is not installed (run: $0 start)" >&2; exit 1; }
    mkdir -p "$SHIM"
    ln -sf "$so" "$SHIM/"
}

add_shim() {
    local venv=$1 site
    [ -x "$venv/bin/python" ] || return 0
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$SHIM" > "$site/gfal2_system.pth"
    if "$venv/bin/python" -c 'import gfal2' 2>/dev/null; then
        echo "gfal2 importable from $venv"
    else
        echo "gfal2 NOT importable from $venv (its Python must match /usr/bin/python3)" >&2
        return 1
    fi
}

venvs() { if [ $# -gt 0 ]; then echo "$@"; else echo "$ROOT/.venv $ROOT/bench/.venv-law"; fi; }

case "${1:-start}" in
    start) shift || true; install_pkgs; shim_dir; for v in $(venvs "$@"); do add_shim "$v"; done ;;
    shim) shift
          # nothing to do on machines without python3-gfal2 (tests that need it skip or, in CI, fail)
          ls /usr/lib/python3/dist-packages/gfal2*.so >/dev/null 2>&1 || exit 0
          shim_dir; for v in "$@"; do add_shim "$v"; done ;;
    stop) ;;
    *) echo "usage: $0 start [VENV ...] | shim VENV ... | stop" >&2; exit 2 ;;
esac
