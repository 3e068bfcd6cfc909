#!/usr/bin/env python3
"""Times whole zwarm processes against their floors and prints the results as
a markdown table. bench/run.sh builds zwarm, writes the corpora and calls this;
see BENCHMARKS.md for what each row means.

Timing uses hyperfine when it is installed (medians of --runs, after
--warmup), else a loop of its own that alternates the commands of a row.
Peak memory is the child's ru_maxrss, read with wait4. Standard library only.
"""

import argparse
import fcntl
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MS = 1000.0


def q(argv):
    return " ".join(shlex.quote(a) for a in argv)


class Timer:
    def __init__(self, scale):
        self.hyperfine = shutil.which("hyperfine")
        self.scale = scale

    def runs(self, n):
        return max(3, int(n * self.scale))

    def compare(self, cmds, runs, warmup=2, prepare=None):
        """Seconds per command: dicts with median, mean, stddev, min, max.
        `prepare` (an argv) runs untimed before every run."""
        runs = self.runs(runs)
        if self.hyperfine:
            return self._hyperfine(cmds, runs, warmup, prepare)
        return self._loop(cmds, runs, warmup, prepare)

    def _hyperfine(self, cmds, runs, warmup, prepare):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            argv = [self.hyperfine, "-N", "--style", "none", "--warmup", str(warmup),
                    "--runs", str(runs), "--export-json", out.name]
            if prepare:
                argv += ["--prepare", q(prepare)]
            argv += [q(c) for c in cmds]
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            data = json.load(open(out.name))
        return [{k: r[k] for k in ("median", "mean", "stddev", "min", "max")}
                for r in data["results"]]

    def _loop(self, cmds, runs, warmup, prepare):
        times = [[] for _ in cmds]
        for i in range(warmup + runs):
            # Alternating keeps a load that comes and goes from favouring one.
            for n, c in enumerate(cmds):
                if prepare:
                    subprocess.run(prepare, check=True)
                t = spawn_time(c)
                if i >= warmup:
                    times[n].append(t)
        return [{"median": statistics.median(t), "mean": statistics.mean(t),
                 "stddev": statistics.pstdev(t), "min": min(t), "max": max(t)}
                for t in times]


def spawn(argv, env=None):
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        return os.posix_spawn(argv[0], argv, env or os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                            (os.POSIX_SPAWN_DUP2, devnull, 1),
                                            (os.POSIX_SPAWN_DUP2, devnull, 2)])
    finally:
        os.close(devnull)


def spawn_time(argv):
    t = time.perf_counter()
    pid = spawn(argv)
    os.waitpid(pid, 0)
    return time.perf_counter() - t


def peak_rss_kib(argv, runs=3):
    """The largest peak RSS of a few runs of argv (KiB), as GNU time reports it.
    Not wait4 from here: a child's ru_maxrss counts the RSS of the process it
    was forked from, and this one is a Python interpreter; GNU time is small
    (its own size is in every figure, floors included)."""
    gnu_time = "/usr/bin/time"
    if not os.access(gnu_time, os.X_OK):
        return None
    best = 0
    with tempfile.NamedTemporaryFile("r") as out:
        for _ in range(runs):
            subprocess.run([gnu_time, "-f", "%M", "-o", out.name] + argv, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out.seek(0)
            best = max(best, int(out.read().split()[-1]))
    return best


def kib_to_mib(k):
    return None if k is None else k / 1024


def proc_status(pid, key, name="status"):
    with open("/proc/%d/%s" % (pid, name)) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def check(argv, env=None):
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (r.returncode, q(argv), r.stderr))
    return r.stdout


def only_session(state):
    ids = os.listdir(os.path.join(state, "sessions"))
    assert len(ids) == 1, ids
    return ids[0]


def meta(state, sid):
    with open(os.path.join(state, "sessions", sid, "meta.json")) as f:
        return json.load(f)


def write_agent(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)


class Bench:
    def __init__(self, a):
        self.a = a
        self.z = os.path.abspath(a.zwarm)
        self.base = os.path.abspath(a.baseline) if a.baseline else None
        self.w = os.path.abspath(a.work)
        self.timer = Timer(a.scale)
        self.rows = []
        self.extra = []

    def with_base(self, argv):
        """The same command run by the baseline build, if there is one."""
        return [[self.base] + argv[1:]] if self.base else []

    def base_ms(self, results, i):
        return results[i]["median"] * MS if self.base else None

    def short(self, argv):
        """A command as BENCHMARKS.md writes it: zwarm and the work dir by name."""
        s = q(argv)
        return s.replace(self.z, "zwarm").replace(self.w, "$W").replace(
            os.path.abspath(self.a.read_metas), "$W/read_metas")

    def row(self, target, figure, floor, floor_cmd, unit, goal, ok, cmd, note="", before=None):
        self.rows.append(dict(target=target, figure=figure, floor=floor, unit=unit,
                              ratio=(figure / floor) if floor else None, goal=goal,
                              met=ok, command=cmd, floor_command=floor_cmd, note=note,
                              before=before))
        print("  %s: %s (floor %s)" % (target, fmt(figure, unit), fmt(floor, unit)),
              file=sys.stderr, flush=True)

    # ------------------------------------------------------------ rows --

    def show_running(self):
        state = os.path.join(self.w, "running", ".zwarm")
        sid = only_session(state)
        lock = open(os.path.join(state, "sessions", sid, "run.lock"), "a")
        # Held by this process: zwarm sees a live supervisor, as it would.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            status = meta(state, sid)["status"]
            out = check([self.z, "--dir", state, "show", sid])
            assert "running" in out.splitlines()[1], out
            show = [self.z, "--dir", state, "show", sid]
            cat = ["/bin/cat", os.path.join(state, "sessions", sid, "meta.json")]
            ls = [self.z, "--dir", state, "list"]
            r = self.timer.compare([show, cat, ls] + self.with_base(show), runs=40, warmup=3)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
        size = os.path.getsize(os.path.join(state, "sessions", sid, "turns", "turn_1.jsonl"))
        fig, flo = r[0]["median"] * MS, r[1]["median"] * MS
        self.row("`show` of a running session, %.0f MiB of output" % (size / 2**20),
                 fig, flo, self.short(cat), "ms", "< 5 ms", fig < 5, self.short(show),
                 "status on disk: %s" % status, before=self.base_ms(r, 3))
        self.extra.append(("`list` of that store (one running session)",
                           r[2]["median"] * MS, "ms", self.short(ls)))

    def list_rows(self):
        per_session = []
        for n, name, goal in ((1000, "l1k", 1.3), (10000, "l10k", 1.3), (100000, "l100k", 1.3)):
            state = os.path.join(self.w, name, ".zwarm")
            if not os.path.isdir(state):
                continue
            ls = [self.z, "--dir", state, "list"]
            floor = [os.path.abspath(self.a.read_metas), state]
            index = os.path.join(state, "list-index")
            # zwarm indexes only files that last changed 2 s before it read
            # them; the first listing after that builds the index, as the
            # first `list` after sessions finish does.
            newest = max(os.stat(os.path.join(state, "sessions", d, "meta.json")).st_ctime
                         for d in os.listdir(os.path.join(state, "sessions")))
            time.sleep(max(0.0, newest + 2.2 - time.time()))
            shutil.rmtree(index, ignore_errors=True)
            out = check(ls)
            assert out.startswith("%d sessions" % n), out[:200]
            assert len(os.listdir(index)) == 16, "the index was not built"
            r = self.timer.compare([ls, floor] + self.with_base(ls),
                                   runs={1000: 30, 10000: 12}.get(n, 5), warmup=3 if n < 100000 else 1)
            fig, flo = r[0]["median"] * MS, r[1]["median"] * MS
            per_session.append("%s: %.2f µs (floor %.2f µs)" % (format(n, ","), fig * 1000 / n,
                                                                flo * 1000 / n))
            self.row("`list` of %s finished sessions" % format(n, ","), fig, flo,
                     self.short(floor), "ms", "≤ %.1f× floor" % goal, fig <= goal * flo,
                     self.short(ls), before=self.base_ms(r, 2))
            jls = [self.z, "--dir", state, "--json", "list"]
            if n >= 10000:
                goal_mib = 64 if n == 100000 else None
                rss = kib_to_mib(peak_rss_kib(ls, runs=2))
                self.row("`list` of %s: peak RSS" % format(n, ","), rss,
                         kib_to_mib(peak_rss_kib(floor, runs=1)), self.short(floor), "MiB",
                         "≤ 64 MiB" if goal_mib else "(2.3.5: 57 MiB)",
                         (rss is not None and rss <= goal_mib) if goal_mib else None,
                         "/usr/bin/time -f %M " + self.short(ls),
                         before=kib_to_mib(peak_rss_kib(self.with_base(ls)[0], runs=1))
                         if self.base else None)
                self.extra.append(("`list --json` of %s: peak RSS" % format(n, ","),
                                   kib_to_mib(peak_rss_kib(jls, runs=1)), "MiB",
                                   "/usr/bin/time -f %M " + self.short(jls)))
            j = self.timer.compare([jls], runs={1000: 10, 10000: 5}.get(n, 3), warmup=1)
            self.extra.append(("`list --json` of %s" % format(n, ","),
                               j[0]["median"] * MS, "ms", self.short(jls)))
            rm = ["/bin/rm", "-rf", index]
            c = self.timer.compare([ls], runs={1000: 10, 10000: 5}.get(n, 3), warmup=1,
                                   prepare=rm)
            self.extra.append(("`list` of %s, its index deleted before each run (it reads "
                               "every `meta.json` and writes the index again)" % format(n, ","),
                               c[0]["median"] * MS, "ms",
                               "hyperfine -N --prepare '%s' '%s'" % (self.short(rm),
                                                                     self.short(ls))))
        self.extra.append(("`list`: time per session (linear growth: about equal figures)",
                           "; ".join(per_session), "text", ""))

    # The turn shapes of run.sh: (folder, what it holds). Each is timed in
    # every mode against `cat` of its file, on two threads and on one.
    SHAPES = (
        ("big", "codex turn, usual events (outputs up to 40 KB)"),
        ("small", "codex turn, many small events"),
        ("tiny", "codex turn, millions of tiny lines"),
        ("tiny1m", "codex turn, a million tiny lines"),
        ("bigclaude", "claude turn, usual events"),
        ("smallclaude", "claude turn, many small events (partial messages)"),
        ("tinyclaude", "claude turn, tiny lines"),
        ("long", "codex turn, usual events after one 32 MiB output line"),
    )

    def trajectory(self):
        env = shutil.which("env") or "/usr/bin/env"
        for name, what in self.SHAPES:
            state = os.path.join(self.w, name, ".zwarm")
            if not os.path.isdir(state):
                continue
            sid = only_session(state)
            turn = os.path.join(state, "sessions", sid, "turns", "turn_1.jsonl")
            size = os.path.getsize(turn)
            lines = longest = 0
            with open(turn, "rb") as f:
                for line in f:
                    lines += 1
                    longest = max(longest, len(line))
            label = "%s (%.0f MiB, %s lines)" % (what, size / 2**20, format(lines, ","))
            # Lines under 1 MiB: 20 MiB whatever the turn; a longer line may
            # cost its own size on top.
            limit = 20 + (longest / 2**20 if longest >= 2**20 else 0)
            cat = ["/bin/cat", turn]
            modes = [("", []), (" --full", ["--full"]), (" --json", None),
                     (" --json --full", ["--full"])]
            cmds = []
            for mode, extra in modes:
                if extra is None:
                    cmds.append([self.z, "--dir", state, "--json", "trajectory", sid])
                elif mode.startswith(" --json"):
                    cmds.append([self.z, "--dir", state, "--json", "trajectory"] + extra + [sid])
                else:
                    cmds.append([self.z, "--dir", state, "trajectory"] + extra + [sid])
            one = [[env, "ZWARM_THREADS=1"] + c for c in cmds[:2]]
            r = self.timer.compare(cmds + one + [cat] + self.with_base(cmds[0]),
                                   runs=6, warmup=1)
            flo = r[6]["median"] * MS
            for n, (mode, _) in enumerate(modes):
                fig = r[n]["median"] * MS
                note = ""
                if n < 2:
                    t1 = r[4 + n]["median"] * MS
                    note = "one thread: %s" % fmt(t1, "ms")
                self.row("`trajectory%s`, %s" % (mode, label), fig, flo, self.short(cat), "ms",
                         "≤ 10× `cat`", fig <= 10 * flo, self.short(cmds[n]), note,
                         before=self.base_ms(r, 7) if n == 0 else None)
            if name == "big":
                fig = r[0]["median"] * MS
                self.row("`trajectory`: speed-up on zwarm 2.3.5 (1.27 s, from the issue)",
                         1270 / fig, None, "", "×", "≥ 10×", 1270 / fig >= 10,
                         self.short(cmds[0]))
            for n in (0, 2):
                rss = kib_to_mib(peak_rss_kib(cmds[n], runs=2))
                self.row("`trajectory%s`, %s: peak RSS" % (modes[n][0], label), rss,
                         kib_to_mib(peak_rss_kib(cat, runs=1)), self.short(cat), "MiB",
                         "≤ %.0f MiB" % limit, rss is not None and rss <= limit,
                         "/usr/bin/time -f %M " + self.short(cmds[n]))
            watch = [self.z, "--dir", state, "watch", sid]
            rss = kib_to_mib(peak_rss_kib(watch, runs=1))
            self.row("`watch` of that finished turn: peak RSS", rss, None, "", "MiB",
                     "≤ %.0f MiB" % limit, rss is not None and rss <= limit,
                     "/usr/bin/time -f %M " + self.short(watch))

    def start_and_supervisor(self):
        state = os.path.join(self.w, "start", ".zwarm")
        proj = os.path.join(self.w, "start", "project")
        os.makedirs(proj, exist_ok=True)
        agent = os.path.join(self.w, "start", "agent.sh")
        # The agent: a few real lines, then quiet while it "works".
        write_agent(agent, 'head -n 3 "%s"\nexec sleep "${BENCH_AGENT_SECS:-1}"\n'
                    % os.path.join(self.a.transcripts, "codex_rich.jsonl"))
        os.environ["ZWARM_CODEX_BIN"] = agent
        os.environ["BENCH_AGENT_SECS"] = "1"
        start = [self.z, "--dir", state, "start", "-C", proj, "bench task"]
        version = [self.z, "--version"]
        r = self.timer.compare([start, version], runs=20, warmup=2)
        fig, flo = r[0]["median"] * MS, r[1]["median"] * MS
        self.row("`start` returns", fig, flo, self.short(version), "ms", "< 10 ms",
                 fig < 10, "ZWARM_CODEX_BIN=$W/start/agent.sh " + self.short(start))
        time.sleep(1.5)  # let those turns end

        # The same in a git repository of 10,000 files: `start` records the
        # start snapshot of the working tree before it returns.
        repo = os.path.join(self.w, "start", "repo")
        if shutil.which("git") and not os.path.isdir(repo):
            make_repo(repo, 10000)
        if os.path.isdir(repo):
            rstart = [self.z, "--dir", state, "start", "-C", repo, "bench task"]
            nosnap = [self.z, "--dir", state, "start", "--no-snapshot", "-C", repo, "bench task"]
            status = ["git", "-C", repo, "status", "--porcelain"]
            status[0] = shutil.which("git")
            r = self.timer.compare([rstart, nosnap, status], runs=10, warmup=1)
            fig = r[0]["median"] * MS
            self.row("`start` in a git repository of 10,000 files, with its start snapshot",
                     fig, r[2]["median"] * MS, "`git status --porcelain` of that repository",
                     "ms", "—", None, "ZWARM_CODEX_BIN=$W/start/agent.sh " + self.short(rstart),
                     "`--no-snapshot`: %s" % fmt(r[1]["median"] * MS, "ms"))
            time.sleep(1.5)

        os.environ["BENCH_AGENT_SECS"] = "6"
        sid = check(start).strip()
        m = meta(state, sid)
        sup = m["pid"]
        agent_pid = m["turns"][-1]["agent"]["pid"]
        time.sleep(1.0)
        rss = proc_status(sup, "VmRSS")
        agent_rss = proc_status(agent_pid, "VmRSS")
        t0 = cpu_ticks(sup)
        time.sleep(3.0)
        ticks = cpu_ticks(sup) - t0
        rss2 = proc_status(sup, "VmRSS")
        # RSS counts every page of the binary and libc it has mapped, all
        # shared with other processes; PSS splits shared pages among their
        # users, and anonymous memory is what is the supervisor's alone.
        pss = proc_status(sup, "Pss", "smaps_rollup")
        anon = proc_status(sup, "Anonymous", "smaps_rollup")
        self.row("supervisor's private (anonymous) memory while its agent runs",
                 anon / 1024, None, "", "MiB", "≤ 1 MiB", anon <= 1024,
                 "Anonymous in /proc/<pid>/smaps_rollup, pid from meta.json",
                 "RSS %s, PSS %s" % (fmt(max(rss, rss2) / 1024, "MiB"), fmt(pss / 1024, "MiB")))
        self.row("supervisor RSS while its agent runs", max(rss, rss2) / 1024,
                 agent_rss / 1024, "VmRSS of the agent (`sleep`)", "MiB", "—", None,
                 "VmRSS in /proc/<pid>/status, pid from meta.json")
        self.extra.append(("supervisor's proportional set size (PSS)", pss / 1024, "MiB",
                           "Pss in /proc/<pid>/smaps_rollup"))
        hz = os.sysconf("SC_CLK_TCK")
        self.row("supervisor CPU while its agent runs (3 s)", ticks * 1000 / hz, None, "",
                 "ms", "0", ticks == 0, "utime+stime in /proc/<pid>/stat")
        check([self.z, "--dir", state, "kill", sid])

    def wait_wake(self):
        base = os.path.join(self.w, "wait")
        state = os.path.join(base, ".zwarm")
        proj = os.path.join(base, "project")
        os.makedirs(proj, exist_ok=True)
        mark = os.path.join(base, "mark")
        agent = os.path.join(base, "agent.sh")
        # The last thing the agent does is note the time; then it exits.
        write_agent(agent, 'cat "%s"\nsleep 0.3\nexec date +%%s%%N > "%s"\n'
                    % (os.path.join(self.a.transcripts, "codex_rich.jsonl"), mark))
        os.environ["ZWARM_CODEX_BIN"] = agent
        lat = []
        for _ in range(self.timer.runs(8)):
            sid = check([self.z, "--dir", state, "start", "-C", proj, "bench wait"]).strip()
            check([self.z, "--dir", state, "wait", sid])
            woke = time.time_ns()
            lat.append((woke - int(open(mark).read())) / 1e6)
        floor = []
        lockf = os.path.join(base, "plain.lock")
        flock = shutil.which("flock")
        for _ in range(self.timer.runs(8) if flock else 0):
            holder = subprocess.Popen([flock, lockf, "sh", "-c",
                                       'sleep 0.3; exec date +%%s%%N > "%s"' % mark])
            time.sleep(0.1)
            check([flock, "-s", lockf, "true"])
            woke = time.time_ns()
            holder.wait()
            floor.append((woke - int(open(mark).read())) / 1e6)
        fig = statistics.median(lat)
        flo = statistics.median(floor) if floor else None
        self.row("`wait` wakes after a turn ends (median; max %.1f ms)" % max(lat), fig, flo,
                 "`flock -s` on a lock whose holder exits", "ms", "< 50 ms", max(lat) < 50,
                 "ZWARM_CODEX_BIN=$W/wait/agent.sh zwarm --dir $W/wait/.zwarm wait <id>")


def make_repo(repo, files):
    """A git repository of `files` files of 1 KB in folders of 100, committed."""
    git = shutil.which("git")
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")
    subprocess.run([git, "init", "-q", repo], check=True, env=env)
    line = "".join(chr(ord("a") + i % 26) for i in range(99)) + "\n"
    for n in range(files):
        d = os.path.join(repo, "d%03d" % (n // 100))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%03d.txt" % (n % 100)), "w") as f:
            f.write("%d\n" % n + line * 10)
    subprocess.run([git, "-C", repo, "add", "-A"], check=True, env=env)
    subprocess.run([git, "-C", repo, "commit", "-q", "-m", "base"], check=True, env=env)


def fmt(v, unit):
    if unit == "text":
        return v
    if v is None:
        return "—"
    if unit == "×":
        return "%.1f×" % v
    if unit == "ms" and v < 10:
        return "%.2f ms" % v
    return "%.1f %s" % (v, unit)


def machine():
    load = os.getloadavg()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return "%d cores (%s), Linux %s, load average %.2f %.2f %.2f" % (
        os.cpu_count(), cpu, platform.release(), *load)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--zwarm", required=True)
    ap.add_argument("--work", required=True, help="the folder run.sh filled")
    ap.add_argument("--read-metas", required=True)
    ap.add_argument("--transcripts", required=True)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the run counts")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--baseline", help="another zwarm build to time beside it (read-only rows)")
    a = ap.parse_args()
    b = Bench(a)
    before = machine()
    timer = "hyperfine (%s)" % b.timer.hyperfine if b.timer.hyperfine else "own loop"
    print("measuring with %s on %s" % (timer, before), file=sys.stderr)
    b.show_running()
    b.list_rows()
    b.trajectory()
    b.start_and_supervisor()
    b.wait_wake()
    after = machine()

    print("\nMachine: %s; after the run: load average %s. Timer: %s; figures are medians."
          % (before, after.rsplit("load average ", 1)[1], timer.replace(b.timer.hyperfine or "", "").replace(" ()", "")))
    print()
    base = "| baseline " if b.base else ""
    print("| target | figure | floor | ratio | goal | met %s| command | floor command |" % base)
    print("|---|---|---|---|---|---|%s---|---|" % ("---|" if b.base else ""))
    for r in b.rows:
        ratio = "%.2f×" % r["ratio"] if r["ratio"] else "—"
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        note = " (%s)" % r["note"] if r["note"] else ""
        before = "| %s " % fmt(r["before"], r["unit"]) if b.base else ""
        print("| %s%s | %s | %s | %s | %s | %s %s| `%s` | %s |" % (
            r["target"], note, fmt(r["figure"], r["unit"]), fmt(r["floor"], r["unit"]),
            ratio, r["goal"], met, before, r["command"],
            "`%s`" % r["floor_command"] if r["floor_command"].startswith(("$W", "/bin", "zwarm"))
            else r["floor_command"]))
    print()
    print("| also measured | figure | command |")
    print("|---|---|---|")
    for name, v, unit, cmd in b.extra:
        print("| %s | %s | %s |" % (name, fmt(v, unit), "`%s`" % cmd if cmd else ""))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": before, "after": after, "rows": b.rows,
                       "extra": b.extra}, f, indent=1)


if __name__ == "__main__":
    main()
