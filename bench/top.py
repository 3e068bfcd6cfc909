#!/usr/bin/env python3
"""`zwarm top` under measurement (release build), on a store of 1,000
finished sessions (bench/gen_corpus.py), on a pseudo-terminal of 120x40:

- first frame: from starting `zwarm top` to its header ("1000 sessions")
  on the terminal (median and max of RUNS, default 10), beside `zwarm list`
  of the same store as a whole process, in the same run (on a shared
  machine, the one tells how busy it was for the other);
- a frame after a change: a session's meta.json replaced (its task, as a
  rename, as zwarm writes) until the new task is on the terminal; the
  session is picked with `/` so its row is on screen (median and max of
  CHANGES, default 20);
- a session's ending: a session started with a fake agent that ends after
  0.3 s, from the end time its supervisor recorded in meta.json to
  "completed" on the terminal (median and max of ENDINGS, default 5);
- idle: the CPU time `top` used over IDLE seconds (default 10) with
  nothing running.

Every time is seen from outside, through the terminal: each includes the
wake-up, the reading of the store and the write of the frame. Not part of
`cargo test`. Rerun:

    python3 bench/top.py
"""
import datetime as dt
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(os.environ.get("RUNS", "10"))
CHANGES = int(os.environ.get("CHANGES", "20"))
ENDINGS = int(os.environ.get("ENDINGS", "5"))
IDLE = float(os.environ.get("IDLE", "10"))

AGENT = r"""#!/bin/sh
sleep 0.3
cat '@TRANSCRIPT@'
"""


class Screen:
    """`zwarm top` on a pty; everything it writes, with when it came."""

    def __init__(self, zwarm, store, cwd, env):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.started = time.monotonic()
        self.p = subprocess.Popen([zwarm, "--dir", store, "top"], stdin=slave, stdout=slave,
                                  stderr=slave, cwd=cwd, env=env, start_new_session=True)
        os.close(slave)
        self.master = master
        self.out = bytearray()
        self.times = []  # (offset into out, monotonic time it arrived)
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            now = time.monotonic()
            with self.lock:
                self.times.append((len(self.out), now))
                self.out += chunk

    def mark(self):
        with self.lock:
            return len(self.out)

    def wait_for(self, needle, since=0, timeout=10.0):
        """When `needle` arrived after offset `since` (the arrival time of
        the chunk that completed it)."""
        deadline = time.monotonic() + timeout
        needle = needle.encode()
        while time.monotonic() < deadline:
            with self.lock:
                at = self.out.find(needle, since)
                if at >= 0:
                    end = at + len(needle)
                    return next(t for off, t in reversed(self.times) if off < end)
            time.sleep(0.001)
        raise TimeoutError(f"{needle!r} never appeared")

    def type(self, text):
        os.write(self.master, text.encode())

    def cpu_seconds(self):
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        self.type("q")
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
        os.close(self.master)


def ms(xs):
    return f"{statistics.median(xs) * 1000:.1f} ms (max {max(xs) * 1000:.1f} ms, n={len(xs)})"


def replace_json(path, change):
    with open(path) as f:
        doc = json.load(f)
    change(doc)
    tmp = path + ".bench-tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
    os.rename(tmp, path)


def main():
    print("building zwarm (release)", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    zwarm = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                         "release", "zwarm")
    work = tempfile.mkdtemp(prefix="zwarm-bench-top.")
    store = os.path.join(work, ".zwarm")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_corpus.py"), "finished",
                    store, "--count", "1000"], check=True, stdout=subprocess.DEVNULL)
    agent = os.path.join(work, "agent.sh")
    with open(agent, "w") as f:
        f.write(AGENT.replace("@TRANSCRIPT@", os.path.join(
            ROOT, "tests", "data", "transcripts", "codex_first_turn.jsonl")))
    os.chmod(agent, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZWARM_")}
    env.update({"ZWARM_CODEX_BIN": agent, "TERM": "xterm-256color", "NO_COLOR": "1"})
    # The list index is built by the first reader, as after any `list`.
    subprocess.run([zwarm, "--dir", store, "list"], env=env, cwd=work, check=True,
                   stdout=subprocess.DEVNULL)

    lists = []
    for _ in range(RUNS):
        t0 = time.monotonic()
        subprocess.run([zwarm, "--dir", store, "list"], env=env, cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        lists.append(time.monotonic() - t0)
    print(f"`zwarm list` of the same 1,000, whole process: {ms(lists)}")

    firsts = []
    for _ in range(RUNS):
        s = Screen(zwarm, store, work, env)
        firsts.append(s.wait_for("1000 sessions") - s.started)
        s.close()
    print(f"first frame, 1,000 sessions: {ms(firsts)}")

    sessions = os.path.join(store, "sessions")
    target = sorted(os.listdir(sessions))[0]
    meta = os.path.join(sessions, target, "meta.json")
    s = Screen(zwarm, store, work, env)
    s.wait_for("1000 sessions")
    s.type("/" + target[:8] + "\r")
    s.wait_for("[/" + target[:8] + "]")
    time.sleep(0.3)
    changes = []
    for i in range(CHANGES):
        task = chr(ord("A") + i % 26) * 12
        since = s.mark()
        t0 = time.monotonic()
        replace_json(meta, lambda d: d.__setitem__("task", task))
        changes.append(s.wait_for(task, since) - t0)
        time.sleep(0.1)
    print(f"frame after a change: {ms(changes)}")
    s.type("/\x1b")  # the filter cleared

    endings = []
    for _ in range(ENDINGS):
        started = subprocess.run([zwarm, "--dir", store, "start", "bench ending"], env=env,
                                 cwd=work, check=True, capture_output=True, text=True)
        sid = started.stdout.strip().split()[-1]
        s.type("/" + sid[:8] + "\r")
        s.wait_for("[/" + sid[:8] + "]")
        since = s.mark()
        seen = s.wait_for("completed", since)
        with open(os.path.join(sessions, sid, "meta.json")) as f:
            ended = json.load(f)["turns"][-1]["ended_at"]
        # Both clocks read now, to put the recorded wall time on the
        # monotonic one.
        wall_now, mono_now = time.time(), time.monotonic()
        recorded = mono_now - (wall_now - dt.datetime.fromisoformat(ended).timestamp())
        endings.append(seen - recorded)
        s.type("/\x1b")
    print(f"ending visible after it is recorded: {ms(endings)}")

    time.sleep(2)
    before = s.cpu_seconds()
    time.sleep(IDLE)
    used = s.cpu_seconds() - before
    print(f"idle, nothing running: {used:.2f} s of CPU in {IDLE:.0f} s ({used / IDLE * 100:.2f} %)")
    s.close()
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
