#!/bin/sh
# Set up what the benchmarks compare against and run in: swaks (the reference
# client) and tmux (the real terminal for the TUI's first frame), from Debian's
# packages. Safe to run again; figures whose tool is missing are skipped with a note.
set -eu

missing=""
command -v swaks >/dev/null 2>&1 || missing="$missing swaks"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"

if [ -n "$missing" ]; then
    if command -v apt-get >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
    else
        echo "benchmarks/setup.sh: no apt-get here; install$missing yourself (their figures are skipped meanwhile)" >&2
    fi
fi

command -v swaks >/dev/null 2>&1 && swaks --version | head -n 1
command -v tmux >/dev/null 2>&1 && tmux -V
# The benchmarks run in the project's venv; trustme (a dependency) makes the sink's certificate.
exit 0
