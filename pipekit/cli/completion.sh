#!/usr/bin/env bash
# Bash completion for pipekit (and its alias law): subcommands, task families and --parameters.
#
#   source "$(pipekit completion)"      # e.g. in ~/.bashrc
#
# Task families and their parameters come from the index file written by 'pipekit index' (and
# refreshed by 'pipekit run'), read with awk on every TAB, so completion costs no Python start.
# The index is found as pipekit finds it: next to the law.cfg in use (.law/index), or
# $LAW_INDEX_FILE, or $LAW_HOME/index. Only when law.cfg may set [core] index_file itself (or
# inherits other files) is pipekit asked where the index is.

_pipekit_config_file() {
    local f
    for f in "${LAW_CONFIG_FILE:-}" "${PIPEKIT_CONFIG_FILE:-}"; do
        [ -n "$f" ] && { echo "$f"; return 0; }
    done
    local home="${LAW_HOME:-${PIPEKIT_HOME:-$HOME/.law}}"
    for f in "$PWD/law.cfg" "$home/config" "$HOME/.law/config"; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}

_pipekit_index_file() {
    local cfg
    cfg="$(_pipekit_config_file)"
    if [ -n "${LAW__core__index_file:-}${PIPEKIT__core__index_file:-}" ] || { [ -f "$cfg" ] &&
        grep -qE '^[[:space:]]*(index_file|inherit|extend)[[:space:]]*[:=][[:space:]]*[^[:space:]]' "$cfg"; }; then
        "${COMP_WORDS[0]}" index --location 2>/dev/null
        return 0
    fi
    if [ -n "${LAW_INDEX_FILE:-}" ]; then
        echo "$LAW_INDEX_FILE"
    elif [ -n "$cfg" ]; then
        echo "$(cd "$(dirname "$cfg")" && pwd)/.law/index"
    else
        echo "${LAW_HOME:-${PIPEKIT_HOME:-$HOME/.law}}/index"
    fi
}

_pipekit_families() {
    awk -F: '!/^#/ && NF >= 2 { print $2 }' "$1"
}

_pipekit_params() {
    # parameters of family $2 (or of module.Class $2) in index $1
    awk -F: -v want="$2" '!/^#/ && ($2 == want || $1 "." $2 == want) {
        for (i = 3; i <= NF; i++) print $i
    }' "$1"
}

_pipekit_other_params() {
    # --Family-param for every indexed family, for parameters of tasks other than the root task
    awk -F: '!/^#/ { for (i = 3; i <= NF; i++) print "--" $2 "-" $i }' "$1"
}

_pipekit_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local prev="${COMP_WORDS[COMP_CWORD-1]}"
    COMPREPLY=()
    local commands="run index config location software luigid quickstart completion graph report status"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W "$commands --help --version --debug" -- "$cur") )
        return 0
    fi
    local cmd="${COMP_WORDS[1]}"
    case "$cmd" in
        run|graph|report|status) ;;
        index) COMPREPLY=( $(compgen -W "--modules --show --location --remove --verbose --help" -- "$cur") ); return 0 ;;
        config) COMPREPLY=( $(compgen -W "--location --raw --help" -- "$cur") ); return 0 ;;
        location) COMPREPLY=( $(compgen -W "package config index software home --help" -- "$cur") ); return 0 ;;
        software) COMPREPLY=( $(compgen -W "--modules --print-deps --location --remove --help" -- "$cur") ); return 0 ;;
        luigid) COMPREPLY=( $(compgen -W "--background --pidfile --logdir --state-path --address --unix-socket --port" -- "$cur") ); return 0 ;;
        *) return 1 ;;  # quickstart DIR and others: the shell's default (file names)
    esac

    local index
    index="$(_pipekit_index_file)"
    [ -f "$index" ] || return 1
    if [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=( $(compgen -W "$(_pipekit_families "$index")" -- "$cur") )
        return 0
    fi
    # the value of an option: leave it to the shell's default completion
    if [[ "$prev" == --* && "$cur" != -* ]]; then
        return 1
    fi
    local run_opts="--workers --local-scheduler --scheduler-host --scheduler-port --log-level
        --no-lock --print-deps --print-status --print-output --remove-output --rerun-outdated --fetch-output --help"
    if [ "$cmd" = "graph" ]; then
        run_opts="-o --output --depth --backend --scheduler-host --scheduler-port --help"
    elif [ "$cmd" = "report" ]; then
        run_opts="-o --report-output --trace --depth --report-depth --help"
    elif [ "$cmd" = "status" ]; then
        run_opts="--once --interval --scan --plain --help"
    else
        run_opts="$run_opts --graph"
    fi
    local params
    params="$(_pipekit_params "$index" "${COMP_WORDS[2]}" | sed 's/^/--/')"
    COMPREPLY=( $(compgen -W "$params $run_opts" -- "$cur") )
    if [ "${#COMPREPLY[@]}" -eq 0 ] && [[ "$cur" == --* ]]; then
        COMPREPLY=( $(compgen -W "$(_pipekit_other_params "$index")" -- "$cur") )
    fi
    return 0
}

complete -o default -F _pipekit_complete pipekit law
