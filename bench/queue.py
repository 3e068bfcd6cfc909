#!/usr/bin/env python3
"""The queue under load: N sessions (default 200) started with
`--max-running 4` on a fake agent whose turns take TURN seconds (default
0.2). Measures:

- the handoff: from a turn's agent ending (its last log line, before it
  exits) to the next queued agent starting, which covers the agent's exit,
  the ending recorded, the slot let go, the head of the line woken and the
  next agent started (median and max);
- the most agents alive at once, sampled every 5 ms from /proc (and from
  the agents' own log);
- a waiting supervisor's resident memory (VmRSS) and the CPU time the
  waiting supervisors used over a second.

Not part of `cargo test`. Rerun:

    python3 bench/queue.py            # about a minute
    N=50 TURN=0.5 python3 bench/queue.py
"""
import json, os, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get("N", "200"))
LIMIT = int(os.environ.get("LIMIT", "4"))
TURN = float(os.environ.get("TURN", "0.2"))

AGENT = r"""#!/bin/sh
echo "start $(date +%s%N) $ZWARM_SESSION_ID" >> '@LOG@'
sleep @TURN@
echo "end $(date +%s%N) $ZWARM_SESSION_ID" >> '@LOG@'
echo '{"type":"thread.started","thread_id":"01a209eb-9fe5-7091-945e-ca2ae2c25c85"}'
echo '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}'
"""


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    zwarm = os.path.join(ROOT, "target/release/zwarm")
    tmp = tempfile.mkdtemp(prefix="zwarm-queue-bench-")
    log = os.path.join(tmp, "log")
    agent = os.path.join(tmp, "agent.sh")
    with open(agent, "w") as f:
        f.write(AGENT.replace("@LOG@", log).replace("@TURN@", str(TURN)))
    os.chmod(agent, 0o755)
    work = os.path.join(tmp, "work")
    os.mkdir(work)
    env = dict(os.environ, ZWARM_CODEX_BIN=agent, XDG_STATE_HOME=os.path.join(tmp, "state"))
    store = os.path.join(tmp, "store")

    alive_max = [0]
    stop = threading.Event()

    def sample():
        # An agent is its process group (the shell forks for `$(date)`, and
        # the fork carries the same command line).
        while not stop.is_set():
            groups = set()
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if agent.encode() not in f.read():
                            continue
                    with open(f"/proc/{pid}/stat") as f:
                        groups.add(f.read().rsplit(")", 1)[1].split()[2])
                except OSError:
                    pass
            alive_max[0] = max(alive_max[0], len(groups))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.time()
    ids = []
    for i in range(N):
        out = subprocess.run(
            [zwarm, "--dir", store, "start", "-C", work, "--max-running", str(LIMIT), f"task {i}"],
            env=env, capture_output=True, text=True, check=True)
        ids.append(out.stdout.strip())
    queued_in = time.time() - t0

    # Waiting supervisors: memory, and CPU over a second.
    pending = []
    for sid in ids[-20:]:
        meta = os.path.join(store, "sessions", sid, "meta.json")
        with open(meta) as f:
            m = json.load(f)
        if m["status"] == "pending" and m.get("pid"):
            pending.append(m["pid"])

    def status_kib(pid, key):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def cpu_ticks(pid):
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])

    rss = [status_kib(p, "VmRSS") for p in pending]
    anon = [status_kib(p, "RssAnon") for p in pending]
    cpu0 = [cpu_ticks(p) for p in pending]
    time.sleep(1.0)
    cpu1 = [cpu_ticks(p) for p in pending if os.path.exists(f"/proc/{p}")]

    subprocess.run([zwarm, "--dir", store, "wait", "--timeout", "30m", *ids],
                   env=env, capture_output=True, check=True)
    total = time.time() - t0
    stop.set()
    sampler.join()

    events = []
    with open(log) as f:
        for line in f:
            kind, ns, sid = line.split()
            events.append((int(ns), kind, sid))
    events.sort()
    starts = [ns for ns, k, _ in events if k == "start"]
    ends = [ns for ns, k, _ in events if k == "end"]
    # The i-th end frees the slot the (LIMIT + i)-th start takes.
    handoff = [(s - e) / 1e6 for e, s in zip(ends, starts[LIMIT:])]
    now, most = 0, 0
    for _, k, _ in events:
        now += 1 if k == "start" else -1
        most = max(most, now)

    print(f"sessions: {N}, --max-running {LIMIT}, turn {TURN}s")
    print(f"queued in: {queued_in:.1f} s ({queued_in / N * 1000:.1f} ms a start); all done in {total:.1f} s")
    print(f"handoff (agent end -> next agent start): median {statistics.median(handoff):.1f} ms, "
          f"p90 {sorted(handoff)[int(len(handoff) * 0.9)]:.1f} ms, max {max(handoff):.1f} ms")
    print(f"most at once: {most} by the log, {alive_max[0]} agents alive by /proc sampling every 5 ms")
    if rss:
        print(f"waiting supervisor VmRSS: median {statistics.median(rss)} KiB, max {max(rss)} KiB "
              f"({len(rss)} sampled); of it private (RssAnon): median {statistics.median(anon)} KiB, "
              f"max {max(anon)} KiB")
        print(f"waiting supervisors' CPU over 1 s: {sum(cpu1) - sum(cpu0[:len(cpu1)])} ticks in total")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
