#!/usr/bin/env bash
# Debian's headless-capable Chromium, for the run report's browser test
# (tests/test_report_html.py opens the report in it and takes a screenshot).
#
# usage: tests/infra/chromium.sh start    install chromium (and a font) when missing; idempotent
#        tests/infra/chromium.sh status   exit 0 when chromium is installed
#        tests/infra/chromium.sh stop     nothing to stop (no daemon: each test starts its own
#                                         browser with a fresh --user-data-dir and ends it)
#
# Cost on a fresh Debian 12: about 25 packages, ~110 MB download, ~10 s to install.
set -euo pipefail
PKGS="chromium fonts-dejavu-core"

case "${1:-}" in
    start)
        # shellcheck disable=SC2086
        if ! dpkg -s $PKGS >/dev/null 2>&1; then
            # the mirror comes from the machine's own apt configuration
            [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
            # shellcheck disable=SC2086
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
        fi
        chromium --version 2>/dev/null | head -1
        ;;
    status)
        command -v chromium >/dev/null
        ;;
    stop)
        ;;
    *)
        echo "usage: $0 start|status|stop" >&2
        exit 2
        ;;
esac
