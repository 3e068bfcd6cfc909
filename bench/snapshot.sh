#!/usr/bin/env bash
# Times a turn snapshot (src/git/snapshot.rs) on a large repository: builds
# 10,000 files / 100 MB in a temporary folder, commits them, changes 10
# files, adds 2 untracked ones, then runs the git sequence `snapshot` runs
# (a temporary index seeded from the real one with its mtime, `ls-files`
# for untracked files over the cap, `add -A`, `write-tree`, `commit-tree`,
# `update-ref`) several times and prints each run and the median, in ms.
# Not part of `cargo test`. The floor: 150 ms. The shell's own programs
# (cp, touch, stat) and forks make these times an upper bound: the Rust
# function runs the same git commands without them.
#
#   bash bench/snapshot.sh          # about half a minute, mostly the setup
#   RUNS=20 bash bench/snapshot.sh
#   KEEP=1 bash bench/snapshot.sh   # keep the repository (the path is printed)
set -euo pipefail

runs="${RUNS:-10}"
say() { printf '%s\n' "$*" >&2; }
ms() { echo $(($(date +%s%N) / 1000000)); }

tmp="$(mktemp -d)"
if [[ -n "${KEEP:-}" ]]; then say "repository: $tmp/repo"; else trap 'rm -rf "$tmp"' EXIT; fi
repo="$tmp/repo"

# The same clean environment zwarm gives git.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(GIT_[^=]*\)=.*/\1/p')
export LC_ALL=C
g() { git -C "$repo" "$@"; }

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
printf '*.log\n' >"$repo/.gitignore"
g add -A
g -c user.name=bench -c user.email=bench@localhost commit -q -m base
for i in $(seq 0 9); do echo "changed $i" >>"$repo/d0$((i * 7 + 10))/f042.txt"; done
echo new >"$repo/d000/new.txt"
head -c $((11 << 20)) /dev/zero >"$repo/d001/huge.bin" # over the 10 MiB cap
echo ignored >"$repo/d002/x.log"
say "$(g status --porcelain | wc -l) paths changed; $(du -sm "$repo" --exclude=.git | cut -f1) MB of files"

snapshot() { # parent refname
    local index
    index="$(g rev-parse --path-format=absolute --git-path index)"
    local tmpindex="$index.zwarm-bench"
    g rev-parse --path-format=absolute --show-toplevel --git-path index >/dev/null
    cp "$index" "$tmpindex" && touch -r "$index" "$tmpindex"
    local spec=":(top)"
    while IFS= read -r -d '' path; do
        if (($(stat -c %s "$repo/$path") > (10 << 20))); then
            spec+=$'\n'":(top,exclude,literal)$path"
        fi
    done < <(GIT_INDEX_FILE="$tmpindex" g ls-files --others --exclude-standard -z)
    printf '%s' "$spec" | tr '\n' '\0' |
        GIT_INDEX_FILE="$tmpindex" g add -A --pathspec-from-file=- --pathspec-file-nul
    local tree commit
    tree="$(GIT_INDEX_FILE="$tmpindex" g write-tree)"
    commit="$(GIT_AUTHOR_NAME=zwarm GIT_AUTHOR_EMAIL=zwarm@localhost \
        GIT_COMMITTER_NAME=zwarm GIT_COMMITTER_EMAIL=zwarm@localhost \
        g commit-tree --no-gpg-sign -p "$1" -m snapshot "$tree")"
    g update-ref -m "zwarm snapshot" --no-deref "$2" "$commit"
    rm -f "$tmpindex"
}

times=()
for n in $(seq 1 "$runs"); do
    start=$(ms)
    snapshot HEAD "refs/zwarm/bench/turn-$n"
    times+=($(($(ms) - start)))
done
if g cat-file -e "refs/zwarm/bench/turn-1:d001/huge.bin" 2>/dev/null; then
    say "error: the file over the cap was recorded"
    exit 1
fi
say "files in the snapshot: $(g ls-tree -r --name-only refs/zwarm/bench/turn-1 | wc -l)"
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "snapshot runs (ms): ${times[*]}"
echo "median: ${sorted[$((runs / 2))]} ms (floor 150 ms)"
