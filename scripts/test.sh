#!/usr/bin/env bash
# The whole test suite, end-to-end tests included, on a fresh machine:
# installs the pinned agent CLIs into .agents/ (git-ignored) and tmux
# (with apt-get, as root, when missing), then runs every test. The
# end-to-end tests fail, never skip, without the CLIs; the tests of
# `zwarm top`, without tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-agents.sh
# `zwarm top` is tested on a real terminal: a tmux pane.
if ! command -v tmux >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing tmux with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || true
        apt-get install -y -qq tmux >/dev/null
    else
        echo "test.sh: tmux is needed (the tests of zwarm top); install it" >&2
        exit 1
    fi
fi
cargo test --all-targets --no-fail-fast "$@"
