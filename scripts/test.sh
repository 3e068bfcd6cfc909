#!/usr/bin/env bash
# The whole test suite, end-to-end tests included, on a fresh machine:
# installs the pinned agent CLIs into .agents/ (git-ignored), tmux and
# OpenSSH (with apt-get, as root, when missing), then runs every test. The
# end-to-end tests fail, never skip, without the CLIs; the tests of
# `zwarm top`, without tmux; those of remotes, without sshd and ssh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-agents.sh
# `zwarm top` is tested on a real terminal (a tmux pane); remotes against a
# real OpenSSH server on a loopback port, whose commands dash parses.
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
[[ -x /usr/sbin/sshd ]] || command -v sshd >/dev/null 2>&1 || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v dash >/dev/null 2>&1 || missing+=(dash)
if (( ${#missing[@]} )); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || true
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "test.sh: ${missing[*]} needed (the tests of zwarm top and of remotes); install them" >&2
        exit 1
    fi
fi
cargo test --all-targets --no-fail-fast "$@"
