#!/usr/bin/env bash
# Times `list` across SSH remotes (release build): two remotes of 1,000
# finished sessions each, served by a throwaway OpenSSH server on loopback
# ports of this machine, next to a local `list` of 1,000 and to the floor
# of ssh itself:
#   - the ssh floor: `ssh ... true` with the options and the shared
#     connection zwarm uses (warm: its master already up, as after a first
#     command; cold: a new connection, handshake included);
#   - local `zwarm list` of 1,000, and `zwarm --json list` of a remote's
#     store run here without ssh (what each remote runs for `--all-hosts`);
#   - `zwarm list --host r1` and its `--json`, `zwarm list --all-hosts`
#     (3,000 rows) and `zwarm --json list --all-hosts`, on warm
#     connections, and `list --all-hosts` on cold ones;
#   - what `list --all-hosts` does here, without ssh: with no remote, and
#     with both remotes down (their 2,000 rows read from the cache).
# The remote command passes through the login shell, whose startup files
# are left out (see below) but timed once in a floor of their own.
# Medians of RUNS runs (default 30) by hyperfine; prints a markdown table.
# Not part of `cargo test`.
#
#   bash bench/remotes.sh            # one to two minutes once zwarm is built
#   bash bench/remotes.sh --quick    # fewer runs, for a smoke test
#   RUNS=60 bash bench/remotes.sh
#   KEEP=1 bash bench/remotes.sh     # keep the stores, config and cache; their folder is printed
#
# Needs Rust, Python 3, hyperfine and OpenSSH (sshd, ssh, ssh-keygen); run
# as root, it installs what is missing with apt-get. sshd runs as the
# current user, listens on 127.0.0.1 only, takes one throwaway key, and is
# stopped, with every connection and file made, when the script exits.
# Both "remotes" are this machine: their `list` runs on the same cores as
# the local one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
runs="${RUNS:-30}"
warmup=3
if [[ "${1:-}" == "--quick" ]]; then
    runs="${RUNS:-5}"
    warmup=1
fi

say() { printf '%s\n' "$*" >&2; }
die() {
    say "remotes.sh: $*"
    exit 1
}

# Nothing of the caller's zwarm settings leaks into the runs.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(ZWARM_[^=]*\)=.*/\1/p')

# The tools: hyperfine, OpenSSH, Python 3.
find_program() { # name: its path, else nothing
    local dir
    for dir in /usr/sbin /usr/bin /sbin /bin /usr/local/sbin /usr/local/bin; do
        if [[ -x "$dir/$1" ]]; then
            printf '%s\n' "$dir/$1"
            return
        fi
    done
    command -v "$1" 2>/dev/null || true
}
missing=()
[[ -n "$(find_program hyperfine)" ]] || missing+=(hyperfine)
[[ -n "$(find_program sshd)" ]] || missing+=(openssh-server)
[[ -n "$(find_program ssh)" && -n "$(find_program ssh-keygen)" ]] || missing+=(openssh-client)
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; } ||
            die "could not install ${missing[*]} with apt-get"
    else
        die "${missing[*]} needed: install them (as root this script does it with apt-get)"
    fi
fi
hyperfine="$(find_program hyperfine)"
sshd="$(find_program sshd)"
ssh="$(find_program ssh)"
keygen="$(find_program ssh-keygen)"
[[ -n "$hyperfine" && -n "$sshd" && -n "$ssh" && -n "$keygen" ]] ||
    die "hyperfine, sshd, ssh or ssh-keygen still missing"
command -v python3 >/dev/null 2>&1 || die "python3 needed (bench/gen_corpus.py)"

say "building zwarm (release)"
(cd "$repo" && cargo build --release --quiet)
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
zwarm="$target/release/zwarm"
[[ -x "$zwarm" ]] || die "no binary at $zwarm"

work="$(mktemp -d "${TMPDIR:-/tmp}/zwarm-remotes.XXXXXX")"
# The connection sockets' folder must be short (a socket's path holds 107
# bytes), so it is made in /tmp whatever TMPDIR says.
runtime="$(mktemp -d /tmp/zr.XXXXXX)"
sshd_pid=""
# Ends the shared connections (their masters outlive each command by
# ControlPersist), then sshd, then removes every file.
drop_masters() {
    local sock
    for sock in "$runtime"/zwarm/ssh-*; do
        [[ -S "$sock" ]] || continue
        "$ssh" -F none -o ControlPath="$sock" -O exit 127.0.0.1 >/dev/null 2>&1 || true
    done
}
cleanup() {
    drop_masters
    if [[ -n "$sshd_pid" ]]; then
        kill "$sshd_pid" 2>/dev/null || true
        wait "$sshd_pid" 2>/dev/null || true
    fi
    rm -rf "$runtime"
    if [[ "${KEEP:-0}" == 1 ]]; then say "stores kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
case "$work$runtime" in
*[[:space:]\'\"\\\$\`]*) die "the temporary folders' paths ($work, $runtime) must be plain words" ;;
esac

# Corpora: this store and one per remote, written while sshd is set up.
say "writing three stores of 1,000 finished sessions in $work"
pids=()
gen() { python3 "$here/gen_corpus.py" "$@" >/dev/null & pids+=($!); }
gen finished "$work/local/.zwarm" --count 1000 --seed 1
gen finished "$work/r1/.zwarm" --count 1000 --seed 21
gen finished "$work/r2/.zwarm" --count 1000 --seed 22

# sshd: a host key and a user key of its own, the current user only, and
# three loopback ports: one per remote (so each has its own connection, as
# two hosts would) and one for a floor. sshd runs every command through the
# user's login shell, and bash reads ~/.bashrc for a command from sshd when
# it is the top shell level: on the remotes' ports sshd sets SHLVL=1, so
# bash skips it and the figures are zwarm's and ssh's, not this machine's
# startup files; the third port leaves it, for a floor with them. The
# remote side's zwarm state, config and cache homes are folders of the run.
ssh_dir="$work/ssh"
mkdir -p "$ssh_dir" "$work/far/state" "$work/far/config" "$work/far/cache" \
    "$work/near/state" "$work/near/config" "$work/near/cache" "$work/near/none" \
    "$work/near/down/zwarm"
chmod 700 "$ssh_dir"
"$keygen" -q -t ed25519 -N "" -f "$ssh_dir/host_key"
"$keygen" -q -t ed25519 -N "" -f "$ssh_dir/user_key"
cp "$ssh_dir/user_key.pub" "$ssh_dir/authorized_keys"
free_ports() { # count: that many free loopback ports, one a line
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}
mapfile -t ports < <(free_ports 4)
# The fourth is never listened on: remotes there are down.
closed="${ports[3]}"
ports=("${ports[@]:0:3}")
user="$(id -un)"
# sshd insists on its privilege separation folder when run as root.
[[ $(id -u) != 0 ]] || mkdir -p /run/sshd
far_env="XDG_STATE_HOME=$work/far/state XDG_CONFIG_HOME=$work/far/config XDG_CACHE_HOME=$work/far/cache"
{
    for port in "${ports[@]}"; do echo "Port $port"; done
    cat <<EOF
ListenAddress 127.0.0.1
HostKey $ssh_dir/host_key
AuthorizedKeysFile $ssh_dir/authorized_keys
PidFile $ssh_dir/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
Match LocalPort ${ports[0]}
    SetEnv SHLVL=1 $far_env
Match LocalPort ${ports[1]}
    SetEnv SHLVL=1 $far_env
Match LocalPort ${ports[2]}
    SetEnv $far_env
EOF
} >"$ssh_dir/sshd_config"
host_key="$(cat "$ssh_dir/host_key.pub")"
for port in "${ports[@]}"; do
    printf '[127.0.0.1]:%s %s\n' "$port" "$host_key"
done >"$ssh_dir/known_hosts"
"$sshd" -f "$ssh_dir/sshd_config" -D -e </dev/null >/dev/null 2>"$ssh_dir/sshd.log" &
sshd_pid=$!
listening() { # every port answers
    local port
    for port in "${ports[@]}"; do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
    done
}
for _ in $(seq 1 100); do
    if listening; then break; fi
    kill -0 "$sshd_pid" 2>/dev/null || { cat "$ssh_dir/sshd.log" >&2; die "sshd did not start"; }
    sleep 0.1
done
listening || { cat "$ssh_dir/sshd.log" >&2; die "sshd is not listening"; }

# The local side: its own config (the remotes), cache (their last lists),
# state and runtime (the connection sockets) folders; ssh with the key,
# the known hosts and no user config.
export XDG_CONFIG_HOME="$work/near/config" XDG_CACHE_HOME="$work/near/cache" \
    XDG_STATE_HOME="$work/near/state" XDG_RUNTIME_DIR="$runtime"
export ZWARM_SSH_COMMAND="$ssh -F none -i $ssh_dir/user_key -o UserKnownHostsFile=$ssh_dir/known_hosts -o StrictHostKeyChecking=yes"
# The far side's zwarm, by a path of the characters `remote add --zwarm`
# takes, whatever the checkout's path is.
mkdir -p "$work/far/bin"
ln -s "$zwarm" "$work/far/bin/zwarm"

for p in "${pids[@]}"; do wait "$p"; done
local_store="$work/local/.zwarm"
z=("$zwarm" --dir "$local_store")
say "registering remotes r1 and r2"
for i in 1 2; do
    "${z[@]}" remote add "r$i" "ssh://127.0.0.1:${ports[i - 1]}" \
        --zwarm "$work/far/bin/zwarm" --remote-dir "$work/r$i/.zwarm" \
        --workdir "$work/r$i" >/dev/null
done

# Every store's list index made (a session is indexed when listed 2 s
# after its last change), and the three stores checked.
sleep 2
for s in local r1 r2; do "$zwarm" --dir "$work/$s/.zwarm" list >/dev/null; done
rows="$("${z[@]}" --json list --all-hosts | python3 -c '
import json, sys
d = json.load(sys.stdin)
bad = [h for h in d["hosts"] if h["stale"]]
assert not bad, bad
print(len(d["sessions"]))')"
[[ "$rows" == 3000 ]] || die "list --all-hosts gave $rows sessions, not 3000"
# The same remotes on a port nobody listens on, for a config of their own:
# `list --all-hosts` finds them down at once and shows their last lists,
# kept in the cache by the run above.
sed -e "s|ssh://127.0.0.1:${ports[0]}\"|ssh://127.0.0.1:$closed\"|" \
    -e "s|ssh://127.0.0.1:${ports[1]}\"|ssh://127.0.0.1:$closed\"|" \
    "$XDG_CONFIG_HOME/zwarm/remotes.toml" >"$work/near/down/zwarm/remotes.toml"
[[ $(grep -c "127.0.0.1:$closed\"" "$work/near/down/zwarm/remotes.toml") == 2 ]] ||
    die "could not write the config of remotes that are down"

# The ssh floor: the argv zwarm gives ssh for r1 (src/remote/transport.rs),
# with `true` for the remote command.
ssh_opts="-o BatchMode=yes -F none -i $ssh_dir/user_key -o UserKnownHostsFile=$ssh_dir/known_hosts -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPath=$runtime/zwarm/ssh-%C -o ControlPersist=60 -o LogLevel=ERROR -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -T"
floor="$ssh $ssh_opts -- ssh://127.0.0.1:${ports[0]} true"
floor_rc="$ssh $ssh_opts -- ssh://127.0.0.1:${ports[2]} true"
cat >"$work/drop-masters" <<EOF
#!/bin/sh
for s in '$runtime'/zwarm/ssh-*; do
    [ -S "\$s" ] && '$ssh' -F none -o ControlPath="\$s" -O exit 127.0.0.1 >/dev/null 2>&1
done
exit 0
EOF
chmod +x "$work/drop-masters"

zl="$zwarm --dir $local_store"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say "timing on warm connections ($runs runs each)"
"$hyperfine" -N --style basic --warmup "$warmup" --runs "$runs" \
    --export-json "$work/warm.json" \
    -n "ssh floor, warm" "$floor" \
    -n "ssh floor, warm, startup files" "$floor_rc" \
    -n "local list" "$zl list" \
    -n "remote store --json list" "$zwarm --dir $work/r1/.zwarm --json list" \
    -n "list --host r1" "$zl list --host r1" \
    -n "json list --host r1" "$zl --json list --host r1" \
    -n "list --all-hosts, no remote" "env XDG_CONFIG_HOME=$work/near/none $zl list --all-hosts" \
    -n "list --all-hosts, remotes down" "env XDG_CONFIG_HOME=$work/near/down $zl list --all-hosts" \
    -n "list --all-hosts" "$zl list --all-hosts" \
    -n "json list --all-hosts" "$zl --json list --all-hosts" >&2
say "timing on cold connections ($runs runs each, every shared connection ended before each run)"
"$hyperfine" -N --style basic --warmup 1 --runs "$runs" --prepare "$work/drop-masters" \
    --export-json "$work/cold.json" \
    -n "ssh floor, cold" "$floor" \
    -n "list --all-hosts, cold" "$zl list --all-hosts" >&2
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# The table.
python3 - "$work/warm.json" "$work/cold.json" "$load_before" "$load_after" <<'EOF'
import json, sys
res = {}
for path in sys.argv[1:3]:
    for r in json.load(open(path))["results"]:
        res[r["command"]] = r
warm = res["ssh floor, warm"]["median"]
cold = res["ssh floor, cold"]["median"]
rows = [
    ("ssh floor: `ssh ... true`, shared connection up (warm)", "ssh floor, warm", None,
     "`ssh <zwarm's options> -- ssh://127.0.0.1:P1 true`"),
    ("ssh floor, warm, the login shell reading its startup files (~/.bashrc)",
     "ssh floor, warm, startup files", None, "same, on a port where sshd leaves SHLVL unset"),
    ("ssh floor: `ssh ... true`, new connection (cold)", "ssh floor, cold", None,
     "same, every shared connection ended before each run"),
    ("local `list` of 1,000", "local list", None, "`zwarm --dir L list`"),
    ("a remote's own `--json list` of 1,000, run here without ssh", "remote store --json list", None,
     "`zwarm --dir R1 --json list`"),
    ("`list --host r1` (1,000 rows)", "list --host r1", warm, "`zwarm --dir L list --host r1`"),
    ("`--json list --host r1` (1,000 sessions)", "json list --host r1", warm,
     "`zwarm --dir L --json list --host r1`"),
    ("`list --all-hosts` with no remote registered (this store's 1,000 rows by the same code)",
     "list --all-hosts, no remote", None, "`env XDG_CONFIG_HOME=<empty> zwarm --dir L list --all-hosts`"),
    ("`list --all-hosts`, both remotes down: their 2,000 rows from the cache, no ssh but a refused connect",
     "list --all-hosts, remotes down", None,
     "`env XDG_CONFIG_HOME=<remotes on a closed port> zwarm --dir L list --all-hosts`"),
    ("`list --all-hosts` (3,000 rows)", "list --all-hosts", warm, "`zwarm --dir L list --all-hosts`"),
    ("`--json list --all-hosts` (3,000 sessions)", "json list --all-hosts", warm,
     "`zwarm --dir L --json list --all-hosts`"),
    ("`list --all-hosts`, both connections cold", "list --all-hosts, cold", cold,
     "`zwarm --dir L list --all-hosts`, connections ended before each run"),
]
ms = lambda s: f"{s * 1000:.1f} ms"
over = lambda s: f"{s * 1000:+.1f} ms"
print(f"\nmedians of {len(res['local list']['times'])} runs; load average "
      f"{sys.argv[3]} before, {sys.argv[4]} after\n")
print("| target | median | mean ± σ | min | CPU here (user + sys) | ssh floor beside | command |")
print("|---|---|---|---|---|---|---|")
for label, key, fl, cmd in rows:
    r = res[key]
    cpu = ms(r["user"] + r["system"])
    beside = f"{ms(fl)} ({over(r['median'] - fl)})" if fl is not None else "—"
    print(f"| {label} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} "
          f"| {ms(r['min'])} | {cpu} | {beside} | {cmd} |")
EOF
