#!/usr/bin/env bash
# The whole test suite, end-to-end tests included, on a fresh machine:
# installs the pinned agent CLIs into .agents/ (git-ignored), then runs
# every test. The end-to-end tests fail, never skip, without the CLIs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-agents.sh
cargo test --all-targets --no-fail-fast "$@"
