#!/usr/bin/env bash
# Benchmarks zwarm's release build against the floors (see BENCHMARKS.md):
# builds it, writes the corpora into a temporary folder outside the repository,
# times every target and prints a markdown table. Not part of `cargo test`.
#
#   bash bench/run.sh            # about two minutes once built
#   bash bench/run.sh --quick    # fewer runs, for a smoke test
#   KEEP=1 bash bench/run.sh     # keep the corpora (the path is printed)
#   ZWARM_BASELINE=/path/to/an/older/zwarm bash bench/run.sh
#                                # also time that build on the read-only rows
#
# Needs Rust and Python 3; hyperfine and GNU time are installed with apt-get
# when missing and run as root (without them: a timing loop of its own, and
# no peak-memory rows).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scale=1
[[ "${1:-}" == "--quick" ]] && scale=0.3

say() { printf '%s\n' "$*" >&2; }

# hyperfine times, GNU time (/usr/bin/time) reads peak memory.
missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})) && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; } ||
        say "could not install ${missing[*]}: timing with a loop of its own, no peak memory"
fi

say "building zwarm (release)"
(cd "$repo" && cargo build --release --quiet)
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
zwarm="$target/release/zwarm"

work="$(mktemp -d "${TMPDIR:-/tmp}/zwarm-bench.XXXXXX")"
cleanup() {
    # Supervisors of the start/wait rows may still be finishing.
    if [[ "${KEEP:-0}" == 1 ]]; then say "corpora kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

rustc -O -o "$work/read_metas" "$here/read_metas.rs"

say "writing corpora in $work"
pids=()
gen() { python3 "$here/gen_corpus.py" "$@" >/dev/null & pids+=($!); }
gen finished "$work/l1k/.zwarm" --count 1000 --seed 1
gen finished "$work/l10k/.zwarm" --count 10000 --seed 2
gen finished "$work/l100k/.zwarm" --count 100000 --seed 9
gen big "$work/big/.zwarm" --mib 100 --agent codex --seed 3
gen running "$work/running/.zwarm" --mib 100 --agent codex --seed 4
gen big "$work/bigclaude/.zwarm" --mib 100 --agent claude_code --seed 5
# The same size in other shapes: many small events, millions of tiny lines.
gen big "$work/small/.zwarm" --mib 100 --agent codex --shape small --seed 6
gen big "$work/smallclaude/.zwarm" --mib 100 --agent claude_code --shape small --seed 7
gen big "$work/tiny/.zwarm" --mib 100 --agent codex --shape tiny --lines 4000000 --seed 8
gen big "$work/tiny1m/.zwarm" --mib 25 --agent codex --shape tiny --lines 1000000 --seed 10
gen big "$work/tinyclaude/.zwarm" --mib 100 --agent claude_code --shape tiny --lines 900000 --seed 11
# Lines under 1 MiB get 20 MiB of memory whatever the turn; a longer one its own size on top.
gen big "$work/long/.zwarm" --mib 100 --agent codex --shape long --seed 12
for p in "${pids[@]}"; do wait "$p"; done

python3 "$here/measure.py" --zwarm "$zwarm" --work "$work" \
    --read-metas "$work/read_metas" --transcripts "$repo/tests/data/transcripts" \
    --scale "$scale" --json "$work/results.json" ${ZWARM_BASELINE:+--baseline "$ZWARM_BASELINE"}
