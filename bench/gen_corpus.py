#!/usr/bin/env python3
"""Writes benchmark corpora: `.zwarm` state directories in zwarm's on-disk
format, with turn files whose events are shaped after the real transcripts in
tests/data/transcripts (codex `exec --json`, Claude Code `stream-json`).

    gen_corpus.py finished STATE_DIR --count 1000 [--turn-kb 12]
    gen_corpus.py running  STATE_DIR --mib 100        # prints the session id
    gen_corpus.py big      STATE_DIR --mib 100        # prints the session id
    gen_corpus.py big      STATE_DIR --mib 100 --shape small
    gen_corpus.py big      STATE_DIR --mib 100 --shape tiny --lines 4000000
    gen_corpus.py big      STATE_DIR --mib 100 --shape long

`finished`: completed, failed and killed sessions, codex and claude, one to
three turns, a share of them in zwarm 2.3.5's layout (no `turns` records).
`running`: one session recorded as running; its `run.lock` exists, and the
caller holds it (e.g. `flock run.lock sleep 600`) so zwarm sees it as alive.
`big`: one completed session whose single turn file is that large; its
events the usual mix (`large`: outputs up to 40 KB), a busy agent's many
small events (`small`: codex items with short outputs; claude's stream with
partial messages), `--lines` tiny lines (`tiny`), or the usual events
after a command whose output is one line of 32 MiB (`long`, codex).

Output is the same for a given --seed, apart from times, which are relative
to now. Standard library only.
"""

import argparse
import copy
import datetime as dt
import json
import os
import random
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSCRIPTS = os.path.join(HERE, "..", "tests", "data", "transcripts")

WORDS = (
    "the a to of and in is it that for on with as this be are not by from at "
    "test tests module function error value file path config parser session "
    "turn agent command output build cargo rust struct impl trait return "
    "update fix add remove check handle read write lock status list show "
    "failing passing expected found line column warning unused variable "
    "refactor helper option result string vector iterator closure borrow"
).split()

OUTPUT_LINES = [
    "   Compiling {w} v0.{n}.0 (/home/dev/project/{w})",
    "test {w}::{w}_{w} ... ok",
    "test {w}::{w}_{w} ... FAILED",
    "src/{w}.rs:{n}:{m}: warning: unused variable: `{w}`",
    "error[E0{n}]: mismatched types in `{w}`",
    "  --> src/{w}/{w}.rs:{n}:{m}",
    "{n} | let {w} = {w}.{w}({w});",
    "-rw-r--r-- 1 dev dev {n}{m} Nov 23 19:{m} {w}.rs",
    "    Finished `test` profile [unoptimized + debuginfo] target(s) in {n}.{m}s",
    "{w}/{w}.py:{n}: in {w}",
    "+    {w}: {w}::{w}(),",
    "-    {w}: Option<{w}>,",
    "@@ -{n},{m} +{n},{m} @@ fn {w}()",
]


class Text:
    """Cheap pseudo-random prose and tool output of a requested size."""

    def __init__(self, rng, small=False):
        self.rng = rng
        self.small = small

    def words(self, n):
        r = self.rng
        return " ".join(r.choice(WORDS) for _ in range(n))

    def sentence_block(self, chars):
        out = []
        size = 0
        while size < chars:
            s = self.words(self.rng.randint(6, 18)).capitalize() + "."
            out.append(s)
            size += len(s) + 1
        return " ".join(out)[: max(chars, 1)]

    def output(self, chars):
        r = self.rng
        out = []
        size = 0
        while size < chars:
            line = r.choice(OUTPUT_LINES).format(
                w=r.choice(WORDS), n=r.randint(1, 999), m=r.randint(1, 99)
            )
            out.append(line)
            size += len(line) + 1
        return "\n".join(out) + "\n" if out else ""

    def output_size(self, room):
        """Tool output sizes are heavy-tailed: mostly short, now and then a
        whole test log or file; never much more than `room` is left. In the
        small shape (a busy agent's long turn), outputs stay short."""
        x = self.rng.random()
        if self.small:
            n = self.rng.randint(0, 80) if x < 0.5 else self.rng.randint(80, 900)
            return max(0, min(n, room))
        if x < 0.30:
            n = self.rng.randint(0, 80)
        elif x < 0.75:
            n = self.rng.randint(80, 1200)
        elif x < 0.95:
            n = self.rng.randint(1200, 6000)
        else:
            n = self.rng.randint(6000, 40000)
        return max(0, min(n, room))


def load_lines(name):
    with open(os.path.join(TRANSCRIPTS, name), encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- codex --


class CodexTurn:
    """A `codex exec --json` stream: thread.started, turn.started, items,
    turn.completed or turn.failed. Item shapes come from the transcripts."""

    def __init__(self, rng, small=False, long_bytes=0):
        self.rng = rng
        self.small = small
        self.long_bytes = long_bytes
        self.text = Text(rng, small)
        rich = load_lines("codex_rich.jsonl")
        mcp = load_lines("codex_mcp.jsonl")
        files = load_lines("codex_file_changes.jsonl")
        self.cmd = [l for l in rich if l.get("item", {}).get("type") == "command_execution"][:2]
        self.reasoning = next(l for l in rich if l.get("item", {}).get("type") == "reasoning")
        self.fc = [l for l in files if l.get("item", {}).get("type") == "file_change"][:2]
        self.mcp = [l for l in mcp if l.get("item", {}).get("type") == "mcp_tool_call"][:2]
        self.usage = rich[-1]["usage"]
        # Codex writes the item id twice in web_search items; json cannot
        # hold that, so this one stays text.
        with open(os.path.join(TRANSCRIPTS, "codex_rich.jsonl"), encoding="utf-8") as f:
            self.web = [l.rstrip("\n") for l in f if '"web_search"' in l]

    def lines(self, target_bytes, thread_id, ending="completed"):
        r = self.rng
        t = self.text
        out = [
            dumps({"type": "thread.started", "thread_id": thread_id}),
            dumps({"type": "turn.started"}),
        ]
        size = sum(len(l) + 1 for l in out)
        n = 0
        messages = []

        def item_id():
            nonlocal n
            n += 1
            return "item_%d" % n

        if self.long_bytes:
            # One command whose output is a line longer than any buffer.
            iid = item_id()
            done = copy.deepcopy(self.cmd[1])
            done["item"].update(id=iid, command="/bin/bash -lc 'cargo test'",
                                aggregated_output=t.output(self.long_bytes), exit_code=0,
                                status="completed")
            out.append(dumps(done))
            size += len(out[-1]) + 1

        # Room for the final message and turn.completed.
        while size + 900 < target_bytes:
            x = r.random()
            new = []
            if x < 0.55:
                iid = item_id()
                cmd = "/bin/bash -lc '%s'" % r.choice(
                    ["cargo test", "ls -la src", "rg %s src" % r.choice(WORDS),
                     "cat src/%s.rs" % r.choice(WORDS), "git diff", "cargo build"]
                )
                started = copy.deepcopy(self.cmd[0])
                started["item"].update(id=iid, command=cmd)
                done = copy.deepcopy(self.cmd[1])
                code = 0 if r.random() < 0.85 else r.choice([1, 2, 101])
                done["item"].update(
                    id=iid,
                    command=cmd,
                    aggregated_output=t.output(t.output_size(target_bytes - size - 900)),
                    exit_code=code,
                    status="completed" if code == 0 else "failed",
                )
                new = [started, done]
            elif x < 0.72:
                ev = copy.deepcopy(self.reasoning)
                ev["item"].update(id=item_id(), text="**%s** %s" % (
                    t.words(2).title(),
                    t.sentence_block(r.randint(30, 250) if self.small else r.randint(80, 700))))
                new = [ev]
            elif x < 0.82:
                iid = item_id()
                path = "/home/dev/project/src/%s.rs" % r.choice(WORDS)
                kind = r.choice(["add", "update", "update", "delete"])
                a, b = copy.deepcopy(self.fc[0]), copy.deepcopy(self.fc[1])
                for ev in (a, b):
                    ev["item"].update(id=iid, changes=[{"path": path, "kind": kind}])
                new = [a, b]
            elif x < 0.90:
                msg = t.sentence_block(r.randint(40, 400))
                messages.append(msg)
                new = [{"type": "item.completed",
                        "item": {"id": item_id(), "type": "agent_message", "text": msg}}]
            elif x < 0.95:
                iid = item_id()
                a, b = copy.deepcopy(self.mcp[0]), copy.deepcopy(self.mcp[1])
                arg = {"text": t.words(4)}
                a["item"].update(id=iid, arguments=arg)
                b["item"].update(id=iid, arguments=arg)
                b["item"]["result"]["content"][0]["text"] = t.output(
                    r.randint(20, 200) if self.small else r.randint(20, 600))
                new = [a, b]
            elif x < 0.97:
                iid = item_id()
                q = t.words(4)
                raw = [l.replace('"item_6"', '"%s"' % iid)
                       .replace("rust serde tagged enums", q) for l in self.web]
                out.extend(raw)
                size += sum(len(l) + 1 for l in raw)
                continue
            elif x < 0.99:
                items = [{"text": t.words(r.randint(3, 8)), "completed": r.random() < 0.5}
                         for _ in range(r.randint(2, 6))]
                new = [{"type": "item.completed",
                        "item": {"id": item_id(), "type": "todo_list", "items": items}}]
            else:
                new = [{"type": "error", "message":
                        "Reconnecting... %d/5 (stream disconnected before completion)"
                        % r.randint(1, 5)}]
            for ev in new:
                line = dumps(ev)
                out.append(line)
                size += len(line) + 1
        final = t.sentence_block(r.randint(60, 600))
        messages.append(final)
        out.append(dumps({"type": "item.completed",
                          "item": {"id": item_id(), "type": "agent_message", "text": final}}))
        usage = dict(self.usage)
        usage["input_tokens"] = r.randint(5_000, 400_000)
        usage["cached_input_tokens"] = usage["input_tokens"] // 2
        usage["output_tokens"] = r.randint(200, 20_000)
        usage["reasoning_output_tokens"] = usage["output_tokens"] // 3
        if ending == "completed":
            out.append(dumps({"type": "turn.completed", "usage": usage}))
        elif ending == "failed":
            msg = "stream disconnected before completion: error sending request"
            out.append(dumps({"type": "error", "message": msg}))
            out.append(dumps({"type": "turn.failed", "error": {"message": msg}}))
        # killed: no terminal line, as codex_sigterm.jsonl
        return out, messages, usage


    def tiny_lines(self, target_bytes, count, thread_id):
        """`count` tiny lines of about target_bytes in all: events with
        little or nothing in them (a stream that reports each small step).
        From 75 bytes a line they are short reasoning items, below that
        `turn.started` events and now and then a reconnection notice, padded
        with JSON's blanks to the size."""
        r = self.rng
        t = self.text
        head = [dumps({"type": "thread.started", "thread_id": thread_id})]
        room = target_bytes - len(head[0]) - 1 - 400
        width = max(room // max(count - 2, 1) - 1, 1)
        out = head
        for n in range(1, count - 2):
            if width >= 75:
                line = dumps({"type": "item.completed", "item": {
                    "id": "item_%d" % n, "type": "reasoning", "text": ""}})
                line = line[:-3] + t.words(width)[:max(width - len(line), 1)] + line[-3:]
            elif n % 50 == 0:
                line = dumps({"type": "error", "message": "Reconnecting... %d/5" % r.randint(1, 5)})
            else:
                line = '{"type":"turn.started"' + " " * max(width - 23, 0) + "}"
            out.append(line)
        final = t.sentence_block(r.randint(60, 300))
        out.append(dumps({"type": "item.completed",
                          "item": {"id": "item_%d" % count, "type": "agent_message",
                                   "text": final}}))
        usage = dict(self.usage)
        out.append(dumps({"type": "turn.completed", "usage": usage}))
        return out, [final], usage


# --------------------------------------------------------------- claude --


class ClaudeTurn:
    """A `claude -p --output-format stream-json --verbose` stream: system/init,
    assistant content blocks, user tool results, result."""

    def __init__(self, rng):
        self.rng = rng
        self.text = Text(rng)
        rich = load_lines("claude_rich.jsonl")
        self.init = rich[0]
        self.thinking_tokens = rich[1]
        self.assistant = rich[2]
        self.tool_result = next(l for l in rich if l["type"] == "user")
        self.result = rich[-1]

    def lines(self, target_bytes, session_id, ending="completed"):
        r = self.rng
        t = self.text
        msg_n = 0
        tool_n = 0

        def stamp(ev):
            ev["session_id"] = session_id
            ev["uuid"] = str(uuid.UUID(int=r.getrandbits(128), version=4))
            return ev

        def assistant(block):
            ev = copy.deepcopy(self.assistant)
            ev["message"]["id"] = "msg_%d" % msg_n
            ev["message"]["content"] = [block]
            ev.pop("thinking_duration_ms", None)
            ev.pop("thinking_display", None)
            return stamp(ev)

        init = copy.deepcopy(self.init)
        stamp(init)
        out = [dumps(init)]
        size = len(out[0]) + 1
        messages = []
        footer = len(dumps(self.result)) + 1200
        while size + footer < target_bytes:
            msg_n += 1
            new = []
            x = r.random()
            if x < 0.15:
                new.append(stamp(dict(self.thinking_tokens, estimated_tokens=r.randint(5, 900))))
                new.append(assistant({"type": "thinking",
                                      "thinking": t.sentence_block(r.randint(80, 900)),
                                      "signature": "sig"}))
            if x < 0.25 or r.random() < 0.2:
                m = t.sentence_block(r.randint(30, 300))
                messages.append(m)
                new.append(assistant({"type": "text", "text": m}))
            tool_n += 1
            tid = "toolu_%04d" % tool_n
            tool = r.choice(["Bash", "Bash", "Bash", "Read", "Edit", "Write", "Grep"])
            if tool == "Bash":
                inp = {"command": r.choice(["cargo test", "ls -la src", "git status"]),
                       "description": t.words(3)}
            elif tool in ("Read", "Write", "Edit"):
                inp = {"file_path": "/home/dev/project/src/%s.rs" % r.choice(WORDS)}
                if tool != "Read":
                    inp["content"] = t.output(r.randint(40, 800))
            else:
                inp = {"pattern": r.choice(WORDS), "path": "src"}
            new.append(assistant({"type": "tool_use", "id": tid, "name": tool, "input": inp}))
            res = copy.deepcopy(self.tool_result)
            # The result line and the final message come after the loop.
            room = (target_bytes - size - footer - 1400) // 2
            body = t.output(t.output_size(room))
            failed = r.random() < 0.1
            res["message"]["content"] = [{"type": "tool_result", "content": body,
                                          "is_error": failed, "tool_use_id": tid}]
            # Claude repeats a Bash result's output in tool_use_result.
            res["tool_use_result"] = (
                {"stdout": body, "stderr": "", "interrupted": False,
                 "isImage": False, "noOutputExpected": False}
                if tool == "Bash" else "ok")
            res["tool_result_meta"][0]["id"] = tid
            new.append(stamp(res))
            for ev in new:
                line = dumps(ev)
                out.append(line)
                size += len(line) + 1
        final = t.sentence_block(r.randint(60, 600))
        messages.append(final)
        msg_n += 1
        out.append(dumps(assistant({"type": "text", "text": final})))
        result = copy.deepcopy(self.result)
        result["session_id"] = session_id
        u = result["usage"]
        u["input_tokens"] = r.randint(200, 40_000)
        u["output_tokens"] = r.randint(100, 12_000)
        u["cache_read_input_tokens"] = r.randint(0, 200_000)
        u["cache_creation_input_tokens"] = r.randint(0, 20_000)
        result["total_cost_usd"] = round(r.uniform(0.01, 3.0), 6)
        result["num_turns"] = msg_n
        result["result"] = final
        if ending == "failed":
            result.update(subtype="error_max_turns", is_error=True,
                          errors=["Reached maximum number of turns"])
        if ending != "killed":
            out.append(dumps(result))
        usage = {"input_tokens": u["input_tokens"], "output_tokens": u["output_tokens"],
                 "cache_read_input_tokens": u["cache_read_input_tokens"],
                 "cache_creation_input_tokens": u["cache_creation_input_tokens"]}
        return out, messages, usage, result["total_cost_usd"]

    def small_lines(self, target_bytes, session_id):
        """The stream with `--include-partial-messages`: each message comes
        as stream events (message start, content block start, deltas of a
        few words, stops) before the assistant line, tool results short."""
        r = self.rng
        t = self.text
        partial = load_lines("claude_partial_messages.jsonl")
        ev_of = [l for l in partial if l["type"] == "stream_event"]
        kinds = {}
        for l in ev_of:
            kinds.setdefault(l["event"]["type"] + ":" +
                             str(l["event"].get("content_block", l["event"].get("delta", {}))
                                 .get("type")), l)
        status = next(l for l in partial if l.get("subtype") == "status")
        user = next(l for l in partial if l["type"] == "user")

        def stamp(ev, msg=None):
            ev = copy.deepcopy(ev)
            ev["session_id"] = session_id
            ev["uuid"] = str(uuid.UUID(int=r.getrandbits(128), version=4))
            if msg and "api_message_id" in ev:
                ev["api_message_id"] = msg
            return ev

        init = copy.deepcopy(self.init)
        init["session_id"] = session_id
        out = [dumps(init)]
        size = len(out[0]) + 1
        messages = []
        msg_n = tool_n = 0
        footer = len(dumps(self.result)) + 1200
        while size + footer < target_bytes:
            msg_n += 1
            mid = "msg_%d" % msg_n
            new = [stamp(status)]
            start = stamp(kinds["message_start:None"], mid)
            start["event"]["message"]["id"] = mid
            new.append(start)
            if r.random() < 0.4:
                text = t.sentence_block(r.randint(20, 300))
                messages.append(text)
                new.append(stamp(kinds["content_block_start:text"], mid))
                for i in range(0, len(text), 40):
                    d = stamp(kinds["content_block_delta:text_delta"], mid)
                    d["event"]["delta"]["text"] = text[i:i + 40]
                    new.append(d)
                block = {"type": "text", "text": text}
            else:
                tool_n += 1
                tid = "toolu_%05d" % tool_n
                inp = {"command": r.choice(["cargo test", "ls -la src", "git status",
                                            "rg %s src" % r.choice(WORDS)]),
                       "description": t.words(3)}
                cb = stamp(kinds["content_block_start:tool_use"], mid)
                cb["event"]["content_block"]["id"] = tid
                new.append(cb)
                d = stamp(kinds["content_block_delta:input_json_delta"], mid)
                d["event"]["delta"]["partial_json"] = json.dumps(inp)
                new.append(d)
                block = {"type": "tool_use", "id": tid, "name": "Bash", "input": inp}
            new.append(stamp(kinds["content_block_stop:None"], mid))
            a = copy.deepcopy(self.assistant)
            a["message"]["id"] = mid
            a["message"]["content"] = [block]
            a.pop("thinking_duration_ms", None)
            a.pop("thinking_display", None)
            new.append(stamp(a))
            new.append(stamp(kinds["message_delta:None"], mid))
            new.append(stamp(kinds["message_stop:None"], mid))
            if block["type"] == "tool_use":
                res = stamp(user)
                res["message"]["content"][0].update(
                    tool_use_id=block["id"], content=t.output(t.output_size(400)),
                    is_error=r.random() < 0.1)
                new.append(res)
            for ev in new:
                line = dumps(ev)
                out.append(line)
                size += len(line) + 1
        return self.close(out, messages, msg_n, session_id, "completed")

    def tiny_lines(self, target_bytes, count, session_id):
        """`count` lines of text deltas a few characters long, without the
        ids claude adds to each (the smallest lines its stream has)."""
        r = self.rng
        init = copy.deepcopy(self.init)
        init["session_id"] = session_id
        out = [dumps(init)]
        width = max((target_bytes - len(out[0]) - 2000) // max(count - 3, 1) - 1, 1)
        base = dumps({"type": "stream_event", "event": {"type": "content_block_delta",
                      "index": 0, "delta": {"type": "text_delta", "text": ""}}})
        pad = max(width - len(base), 1)
        for _ in range(count - 3):
            out.append(base[:-4] + r.choice(WORDS)[:pad].ljust(pad, "." ) + base[-4:])
        return self.close(out, [], 1, session_id, "completed")

    def close(self, out, messages, msg_n, session_id, ending):
        """The final message and result line, as `lines` ends a turn."""
        r = self.rng
        t = self.text
        final = t.sentence_block(r.randint(60, 600))
        messages.append(final)
        a = copy.deepcopy(self.assistant)
        a["message"]["id"] = "msg_%d" % (msg_n + 1)
        a["message"]["content"] = [{"type": "text", "text": final}]
        a["session_id"] = session_id
        out.append(dumps(a))
        result = copy.deepcopy(self.result)
        result["session_id"] = session_id
        result["num_turns"] = msg_n + 1
        result["result"] = final
        out.append(dumps(result))
        u = result["usage"]
        usage = {k: u[k] for k in ("input_tokens", "output_tokens",
                                   "cache_read_input_tokens", "cache_creation_input_tokens")}
        return out, messages, usage, result["total_cost_usd"]


# ----------------------------------------------------------------- meta --


def iso(t):
    return t.isoformat(timespec="microseconds")


class Corpus:
    def __init__(self, state_dir, seed, unique_turns=0, shape="large", lines=0):
        self.state = state_dir
        self.shape = shape
        self.line_count = lines
        self.unique_turns = unique_turns
        self.pool = {}
        self.rng = random.Random(seed)
        self.codex = CodexTurn(self.rng, small=shape == "small",
                               long_bytes=32 << 20 if shape == "long" else 0)
        self.claude = ClaudeTurn(self.rng)
        self.text = Text(self.rng)
        self.boot_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        os.makedirs(os.path.join(state_dir, "sessions"), exist_ok=True)

    def new_id(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def session(self, turn_bytes, status, turns=1, legacy=False, agent=None,
                running=False, created=None):
        """Writes one session; returns its id."""
        r = self.rng
        sid = self.new_id()
        agent = agent or ("codex" if r.random() < 0.6 else "claude_code")
        sdir = os.path.join(self.state, "sessions", sid)
        os.makedirs(os.path.join(sdir, "turns"))
        created = created or (dt.datetime.now()
                              - dt.timedelta(seconds=r.randint(60, 30 * 86400)))
        task = self.text.sentence_block(r.randint(30, 300))
        thread = self.new_id() if agent == "codex" else sid
        messages = [self.message("user", task, 1, created)]
        records = []
        total = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        cost = None
        clock = created
        for n in range(1, turns + 1):
            last = n == turns
            ending = status if last else "completed"
            if running and last:
                ending = "killed"  # no terminal line: still going
            started = clock
            text, msgs, usage, turn_cost = self.turn(agent, turn_bytes, thread, ending)
            if agent == "codex":
                own = {"input_tokens": usage["input_tokens"],
                       "output_tokens": usage["output_tokens"],
                       "total_tokens": usage["input_tokens"] + usage["output_tokens"],
                       "cached_input_tokens": usage["cached_input_tokens"],
                       "reasoning_output_tokens": usage["reasoning_output_tokens"]}
            else:
                cost = turn_cost
                own = dict(usage, total_tokens=usage["input_tokens"] + usage["output_tokens"])
            path = os.path.join(sdir, "turns", "turn_%d.jsonl" % n)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            open(os.path.join(sdir, "turns", "turn_%d.stderr" % n), "w").close()
            clock = started + dt.timedelta(seconds=r.randint(20, 1800))
            rec = {"turn": n, "started_at": iso(started)}
            if running and last:
                rec.update(supervisor={"pid": 999999, "start_time": 1},
                           agent={"pid": 999998, "start_time": 1},
                           boot_id=self.boot_id)
                records.append(rec)
                break
            for k in total:
                total[k] += own[k]
            rec.update(ended_at=iso(clock), ending=ending,
                       exit={"code": 0} if ending == "completed" else
                       ({"signal": 15} if ending == "killed" else {"code": 1}),
                       agent_session_id=thread, usage=own, reported_usage=own)
            if ending == "failed":
                rec["error"] = "the agent reported a failed turn"
            if msgs:
                rec["final_message"] = msgs[-1]
            rec.update(supervisor={"pid": r.randint(1000, 99999), "start_time": r.randint(1, 10**7)},
                       agent={"pid": r.randint(1000, 99999), "start_time": r.randint(1, 10**7)},
                       boot_id=self.boot_id, settled_by="supervisor")
            records.append(rec)
            for m in msgs[-2:]:
                messages.append(self.message("assistant", m, n, clock))
            if not last:
                follow = self.text.sentence_block(r.randint(20, 160))
                messages.append(self.message("user", follow, n + 1, clock))
        meta = {
            "id": sid,
            "task": task,
            "status": "running" if running else status,
            "working_dir": "/home/dev/project",
            "created_at": iso(created),
            "updated_at": iso(clock),
            "pid": r.randint(1000, 99999),
            "exit_code": None if running else {"completed": 0, "failed": 1, "killed": -15}[status],
            "model": "gpt-5.5" if agent == "codex" else "claude-opus-5-5",
            "turn": len(records),
            "messages": messages,
            "token_usage": total,
            "error": None if running or status == "completed" else
            ("killed by zwarm" if status == "killed" else "the agent reported a failed turn"),
            "source": "user" if r.random() < 0.7 else "orchestrator:default",
            "adapter": agent,
        }
        if not legacy:
            if cost is not None:
                meta["cost_usd"] = cost
            meta["agent_session_id"] = thread
            meta["turns"] = records
        with open(os.path.join(sdir, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False, indent=2)
            f.write("\n")
        for name in ("run.lock", "meta.lock"):
            open(os.path.join(sdir, name), "w").close()
        return sid

    def turn(self, agent, turn_bytes, thread, ending):
        """One turn file's text. Generating JSONL is the slow part, so large
        corpora reuse up to `unique_turns` distinct turns per kind, each with
        this session's own conversation id."""
        key = (agent, turn_bytes, ending)
        pool = self.pool.setdefault(key, [])
        if self.unique_turns and len(pool) >= self.unique_turns:
            old, text, msgs, usage, cost = self.rng.choice(pool)
            return text.replace(old, thread), msgs, usage, cost
        if self.shape == "tiny" and agent == "codex":
            lines, msgs, usage = self.codex.tiny_lines(turn_bytes, self.line_count, thread)
            cost = None
        elif self.shape == "tiny":
            lines, msgs, usage, cost = self.claude.tiny_lines(turn_bytes, self.line_count, thread)
        elif self.shape == "small" and agent == "claude_code":
            lines, msgs, usage, cost = self.claude.small_lines(turn_bytes, thread)
        elif agent == "codex":
            lines, msgs, usage = self.codex.lines(turn_bytes, thread, ending)
            cost = None
        else:
            lines, msgs, usage, cost = self.claude.lines(turn_bytes, thread, ending)
        text = "\n".join(lines) + "\n"
        if self.unique_turns:
            pool.append((thread, text, msgs, usage, cost))
        return text, msgs, usage, cost

    def message(self, role, content, turn, when):
        return {"role": role, "content": content, "timestamp": iso(when),
                "metadata": {"turn": turn}}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["finished", "running", "big"])
    ap.add_argument("state_dir", help="the .zwarm directory to fill")
    ap.add_argument("--count", type=int, default=1000)
    # 12 gives sessions of 13 KB of JSONL on average: the fixed lines (claude's
    # init and result) and the last event overshoot the target a little.
    ap.add_argument("--turn-kb", type=float, default=12.0,
                    help="JSONL per session (finished), split over its turns")
    ap.add_argument("--mib", type=float, default=100.0, help="turn size (running, big)")
    ap.add_argument("--agent", choices=["codex", "claude_code"], default=None)
    ap.add_argument("--legacy-share", type=float, default=0.05,
                    help="share of finished sessions in zwarm 2.3.5's layout")
    ap.add_argument("--unique-turns", type=int, default=300,
                    help="distinct turn files per kind before they repeat (0: all distinct)")
    ap.add_argument("--shape", choices=["large", "small", "tiny", "long"], default="large",
                    help="big: events of the usual sizes (large outputs among them), many "
                         "small events, --lines tiny lines, or the usual events after one "
                         "command whose output line is 32 MiB (codex)")
    ap.add_argument("--lines", type=int, default=4_000_000, help="line count (--shape tiny)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    c = Corpus(a.state_dir, a.seed, a.unique_turns if a.kind == "finished" else 0,
               shape=a.shape if a.kind == "big" else "large", lines=a.lines)
    if a.kind == "finished":
        for _ in range(a.count):
            r = c.rng
            x = r.random()
            status = "completed" if x < 0.80 else ("failed" if x < 0.92 else "killed")
            turns = 1 if r.random() < 0.75 else r.randint(2, 3)
            c.session(int(a.turn_kb * 1024 / turns), status, turns=turns,
                      legacy=r.random() < a.legacy_share, agent=a.agent)
    else:
        size = int(a.mib * 1024 * 1024)
        sid = c.session(size, "completed", agent=a.agent or "codex",
                        running=a.kind == "running",
                        created=dt.datetime.now() - dt.timedelta(minutes=20))
        print(sid)


if __name__ == "__main__":
    sys.exit(main())
