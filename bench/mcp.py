#!/usr/bin/env python3
"""`zwarm mcp` under measurement (release build):

- a `list` tool call (limit 1000) on a store of 1,000 finished sessions,
  round trip over stdio, against `zwarm --json list` run as a whole process
  (medians of RUNS, default 20);
- how soon a `wait` tool call answers after a turn ends (the fake agent's
  last log line, before it exits; median and max of WAITS, default 10);
- an idle server: resident and private memory, CPU over 2 s;
- a running supervisor with the MCP SDK linked in: VmRSS, private memory
  (RssAnon) and PSS (its share of the pages it shares).

Not part of `cargo test`. Rerun:

    python3 bench/mcp.py
"""
import json, os, select, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(os.environ.get("RUNS", "20"))
WAITS = int(os.environ.get("WAITS", "10"))

AGENT = r"""#!/bin/sh
sleep 0.3
echo "$(date +%s%N)" > '@DIR@'/end-"$ZWARM_SESSION_ID"
echo '{"type":"thread.started","thread_id":"01a209eb-9fe5-7091-945e-ca2ae2c25c85"}'
echo '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}'
"""


class Client:
    def __init__(self, cmd, env, cwd):
        self.p = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next_id = 0

    def send(self, msg):
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()

    def request(self, method, params, timed=None):
        """The response; with `timed`, the milliseconds until its line was
        read are appended to it (the parsing, in Python, is not counted: the
        CLI's side is timed without reading its output either)."""
        self.next_id += 1
        rid = self.next_id
        t = time.perf_counter()
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise SystemExit("the server closed its stdout")
            if timed is not None and b'"method"' not in line[:64]:
                timed.append((time.perf_counter() - t) * 1000)
            msg = json.loads(line)
            if msg.get("id") == rid:
                return msg

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    zwarm = os.path.join(ROOT, "target/release/zwarm")
    tmp = tempfile.mkdtemp(prefix="zwarm-mcp-bench-")
    store = os.path.join(tmp, "store")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench/gen_corpus.py"), "finished", store,
                    "--count", "1000"], check=True, stdout=subprocess.DEVNULL)
    agent = os.path.join(tmp, "agent.sh")
    with open(agent, "w") as f:
        f.write(AGENT.replace("@DIR@", tmp))
    os.chmod(agent, 0o755)
    env = dict(os.environ, ZWARM_CODEX_BIN=agent, XDG_STATE_HOME=os.path.join(tmp, "state"),
               ZWARM_DIR=store)
    # The list index is built by the first list, as in use.
    subprocess.run([zwarm, "--json", "list"], env=env, stdout=subprocess.DEVNULL, check=True)

    cli = []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run([zwarm, "--json", "list"], env=env, stdout=subprocess.DEVNULL, check=True)
        cli.append((time.perf_counter() - t) * 1000)

    c = Client([zwarm, "mcp", "--root", tmp, "--max-sessions", "1000"], env, tmp)
    c.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "bench", "version": "1"}})
    c.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    c.request("tools/list", {})
    time.sleep(0.5)
    idle_rss, idle_anon = status_kib(c.p.pid, "VmRSS"), status_kib(c.p.pid, "RssAnon")
    cpu0 = cpu_ticks(c.p.pid)
    time.sleep(2.0)
    idle_cpu = cpu_ticks(c.p.pid) - cpu0

    tool = []
    for _ in range(RUNS):
        r = c.request("tools/call", {"name": "list", "arguments": {"limit": 1000}}, timed=tool)
        assert not r["result"].get("isError"), r
    n = len(r["result"]["structuredContent"]["sessions"])

    wakes, sup = [], None
    for i in range(WAITS):
        s = c.request("tools/call", {"name": "start",
                                     "arguments": {"task": f"t{i}", "working_dir": tmp}})
        sid = s["result"]["structuredContent"]["id"]
        if sup is None:
            meta = json.load(open(os.path.join(store, "sessions", sid, "meta.json")))
            pid = meta["pid"]
            sup = (status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon"), pss_kib(pid))
        r = c.request("tools/call", {"name": "wait", "arguments": {"ids": [sid], "timeout_s": 30}})
        answered = time.time_ns()
        with open(os.path.join(tmp, f"end-{sid}")) as f:
            ended = int(f.read())
        wakes.append((answered - ended) / 1e6)
    c.close()

    m = statistics.median
    print(f"list of {n} sessions: `zwarm --json list` median {m(cli):.1f} ms; "
          f"`list` tool call round trip median {m(tool):.1f} ms ({m(tool) / m(cli):.2f}x)")
    print(f"wait answers after the turn's end: median {m(wakes):.1f} ms, max {max(wakes):.1f} ms")
    print(f"idle server: VmRSS {idle_rss} KiB, RssAnon {idle_anon} KiB, CPU over 2 s: {idle_cpu} ticks")
    print(f"running supervisor: VmRSS {sup[0]} KiB, RssAnon {sup[1]} KiB, PSS {sup[2]} KiB")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
