#!/usr/bin/env bash
# Times worktrees and snapshots through zwarm itself, on a repository of
# 10,000 files / 100 MB where each turn changes 10 files:
#   - `start --worktree` (git worktree add, lock, setup, the first
#     snapshot, the agent started) against the floor `git worktree add`;
#   - a turn's end recorded after its agent exits (the end snapshot, its
#     changes, the worktree's state, meta.json), as `zwarm wait` sees it;
#   - the cost of a snapshot: `start` in a plain checkout with snapshots
#     against `--no-snapshot`, beside the floor `git status`.
# Medians of RUNS runs (default 7). Not part of `cargo test`.
#
#   bash bench/worktree.sh            # about a minute, mostly building the repository
#   RUNS=15 bash bench/worktree.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
runs="${RUNS:-7}"
say() { printf '%s\n' "$*" >&2; }
now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
ms() { echo "scale=1; $1 / 1000000" | bc; }

command -v bc >/dev/null || { apt-get install -y -qq bc >/dev/null 2>&1 || true; }
(cd "$root" && cargo build --release --quiet)
zwarm="$root/target/release/zwarm"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(GIT_[^=]*\)=.*/\1/p')
export LC_ALL=C XDG_STATE_HOME="$tmp/state"

say "building 10,000 files of 10 KB"
git init -q -b main "$repo"
python3 - "$repo" <<'EOF'
import os, sys
top = sys.argv[1]
line = "".join(chr(ord("a") + i % 26) for i in range(99)) + "\n"
for d in range(100):
    os.makedirs(f"{top}/d{d:03}", exist_ok=True)
    for f in range(100):
        with open(f"{top}/d{d:03}/f{f:03}.txt", "w") as out:
            out.write(f"{d} {f}\n" + line * 100)
EOF
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@localhost commit -q -m base

# The agent: changes 10 files, prints a recorded codex turn, and notes the
# moment it exits.
agent="$tmp/agent"
cat >"$agent" <<EOF
#!/bin/sh
for i in 0 1 2 3 4 5 6 7 8 9; do echo "turn \$\$" >> "d0\$((i * 7 + 10))/f042.txt"; done
cat '$root/tests/data/transcripts/codex_first_turn.jsonl'
now=\$(date +%s%N)
printf '%s' "\$now" > "$tmp/exited-\$ZWARM_SESSION_ID"
EOF
chmod +x "$agent"
export ZWARM_CODEX_BIN="$agent"

# One session: prints "start_ns end_ns" (start's own time, and how long
# after the agent exited `wait` saw the turn recorded).
session() { # store, zwarm start options...
    local store="$1"
    shift
    local t0 t1 id done
    t0=$(now_ns)
    id=$("$zwarm" --dir "$store" start -C "$repo" "$@" "bench task")
    t1=$(now_ns)
    "$zwarm" --dir "$store" wait "$id" >/dev/null
    done=$(now_ns)
    echo "$((t1 - t0)) $((done - $(cat "$tmp/exited-$id")))"
}

declare -A start_ns end_ns
for kind in worktree snapshot plain; do
    starts=() ends=()
    for n in $(seq 1 "$runs"); do
        case $kind in
        worktree) read -r s e < <(session "$tmp/wt.zwarm" -w) ;;
        snapshot) read -r s e < <(session "$tmp/snap.zwarm") ;;
        plain) read -r s e < <(session "$tmp/plain.zwarm" --no-snapshot) ;;
        esac
        starts+=("$s")
        ends+=("$e")
    done
    start_ns[$kind]=$(median "${starts[@]}")
    end_ns[$kind]=$(median "${ends[@]}")
done

floors_add=() floors_status=()
for n in $(seq 1 "$runs"); do
    t0=$(now_ns)
    git -C "$repo" worktree add -q -b "floor-$n" "$tmp/floor-$n" HEAD
    floors_add+=($(($(now_ns) - t0)))
    t0=$(now_ns)
    git -C "$repo" status --porcelain >/dev/null
    floors_status+=($(($(now_ns) - t0)))
done

echo "| target | median | floor | goal |"
echo "|---|---|---|---|"
echo "| \`start --worktree\` returns (worktree, lock, first snapshot, agent started) | $(ms "${start_ns[worktree]}") ms | $(ms "$(median "${floors_add[@]}")") ms (\`git worktree add\`) | ≤ 1 s plus setup |"
echo "| turn end recorded after the agent exits, worktree session | $(ms "${end_ns[worktree]}") ms | — | ≤ 1 s |"
echo "| turn end recorded after the agent exits, plain checkout with snapshots | $(ms "${end_ns[snapshot]}") ms | $(ms "${end_ns[plain]}") ms (\`--no-snapshot\`) | ≤ 1 s |"
echo "| a snapshot: \`start\` with snapshots − with \`--no-snapshot\` | $(ms "$((${start_ns[snapshot]} - ${start_ns[plain]}))") ms | $(ms "$(median "${floors_status[@]}")") ms (\`git status\`) | ≤ 150 ms |"
