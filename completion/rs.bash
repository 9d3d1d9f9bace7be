# bash completion for the recsys-pipes tools (rs-*), from their own --help:
# the subcommands of the "Usage:" lines (rs-retrieve index build|tune) and
# every option the help lists. Nothing is hard-coded, so a new tool completes
# as soon as it is on PATH. Installed as
# share/bash-completion/completions/rs-<tool> (one link per tool, which
# bash-completion loads on first use), or source it from ~/.bashrc.

# _rs_help TOOL: the tool's --help, read once per shell.
declare -gA _rs_help_cache 2>/dev/null
_rs_help() {
    if [[ -z ${_rs_help_cache[$1]+set} ]]; then
        _rs_help_cache[$1]=$("$1" --help 2>/dev/null)
    fi
    printf '%s\n' "${_rs_help_cache[$1]}"
}

# _rs_subcommands TOOL WORD...: the words the Usage lines allow after TOOL WORD...
_rs_subcommands() {
    local tool=$1
    shift
    _rs_help "$tool" | awk -v tool="$tool" -v prefix="$*" '
        { sub(/^Usage:/, "") }
        $1 == tool {
            words = ""
            for (i = 2; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) {
                if (words == prefix) { print $i; break }
                words = words (words == "" ? "" : " ") $i
            }
        }' | sort -u
}

_rs_complete() {
    local tool=${COMP_WORDS[0]##*/} cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    if [[ $cur == -* ]]; then
        local opts
        opts=$(_rs_help "$tool" | grep -oE -- '(^|[ ,(|\[])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,(|[]//' | sort -u)
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    # Subcommands: only while every word before this one is one.
    local i words=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == [a-z]* ]] || { words=(); break; }
        words+=("${COMP_WORDS[i]}")
    done
    if ((${#words[@]} == COMP_CWORD - 1)); then
        local subs
        subs=$(_rs_subcommands "$tool" "${words[@]}")
        if [[ -n $subs ]]; then
            COMPREPLY=($(compgen -W "$subs" -- "$cur"))
            ((${#COMPREPLY[@]})) && return
        fi
    fi
    COMPREPLY=($(compgen -f -- "$cur")) # an option's value or an input: a file
    compopt -o filenames 2>/dev/null
}

# Every rs-* command on PATH, and the one bash-completion loaded this file for.
complete -F _rs_complete $(compgen -c rs- | sort -u) ${1:+"$1"} 2>/dev/null
