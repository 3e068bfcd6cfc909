//! Fake agents for the tests that do not need the real CLIs.
//!
//! [`FakeAgent`] is a small `sh` script that replays recorded JSONL byte
//! for byte, so zwarm sees exactly what a real codex or claude printed. What
//! it does on its k-th invocation (turn k) is read from files in its own
//! directory, which a test can change between turns:
//!
//! - `turn-<k>.jsonl` (or `turn.jsonl` for every turn): printed to stdout;
//! - `delay`: seconds to sleep between lines (then lines are replayed one
//!   at a time, each with its newline);
//! - `edit-<k>`: a shell script run in the working directory first (the
//!   turn's changes to the files);
//! - `stderr-<k>`: printed to stderr after stdout;
//! - `hang-<k>`: if present, the script then sleeps until it is killed
//!   (and says so in `hanging-<k>`, once all its output is written);
//! - `exit-<k>`: the exit code (default 0).
//!
//! It records `argv-<k>` (one argument per line), `stdin-<k>` (what its
//! stdin is, from /proc/self/fd/0), `env-<k>` (its environment), `cwd-<k>`
//! (its working directory) and, last, `pid-<k>`. [`FakeAgent::recording`]
//! records the same and then runs a real CLI in its place.
//!
//! [`TaskAgent`] serves many sessions at once.

use super::poll::eventually;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// The codex thread of the recorded codex transcripts.
pub const CODEX_THREAD: &str = "01a209eb-9fe5-7091-945e-ca2ae2c25c85";
/// The claude session of the recorded claude transcripts.
pub const CLAUDE_SESSION: &str = "172a5050-90bc-4c0c-bb9a-1cf25846f716";

/// The recorded transcript `name` from `tests/data/transcripts/`.
pub fn transcript(name: &str) -> String {
    let path = transcript_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Where the recorded transcript `name` is.
pub fn transcript_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transcripts")
        .join(name)
}

/// Lines `range` (0-based) of a transcript, each with its newline.
pub fn transcript_lines(name: &str, range: std::ops::Range<usize>) -> String {
    transcript(name)
        .lines()
        .skip(range.start)
        .take(range.len())
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What every fake agent does first: count the turn and record it.
const RECORD: &str = r#"#!/bin/sh
d='@DIR@'
# Each invocation claims the lowest free number with mkdir, which only one
# of several agents started at once can win.
k=1
while ! mkdir "$d/call-$k" 2>/dev/null; do k=$((k + 1)); done
: > "$d/argv-$k"
for a in "$@"; do printf '%s\n' "$a" >> "$d/argv-$k"; done
readlink /proc/self/fd/0 > "$d/stdin-$k" 2>/dev/null
env > "$d/env-$k"
pwd -P > "$d/cwd-$k"
# Last, through a rename: `wait_started` polls for it, so every other record
# of this turn is complete once it appears.
printf '%s\n' "$$" > "$d/pid-$k.tmp" && mv "$d/pid-$k.tmp" "$d/pid-$k"
"#;

/// Replaying the turn, after [`RECORD`]: first the turn's edits to its
/// working directory (`edit-<k>`, a shell script run there), then its output.
const REPLAY: &str = r#"[ -f "$d/edit-$k" ] && sh "$d/edit-$k"
f="$d/turn-$k.jsonl"
[ -f "$f" ] || f="$d/turn.jsonl"
if [ -f "$f" ]; then
  if [ -f "$d/delay" ]; then
    delay=$(cat "$d/delay")
    while IFS= read -r line || [ -n "$line" ]; do
      printf '%s\n' "$line"
      sleep "$delay"
    done < "$f"
  else
    cat "$f"
  fi
fi
[ -f "$d/stderr-$k" ] && cat "$d/stderr-$k" >&2
[ -f "$d/hang-$k" ] && { : > "$d/hanging-$k"; exec sleep 600; }
exit "$(cat "$d/exit-$k" 2>/dev/null || echo 0)"
"#;

/// A scripted stand-in for `codex` or `claude`.
pub struct FakeAgent {
    dir: TempDir,
}

impl FakeAgent {
    pub fn new() -> FakeAgent {
        FakeAgent::with_script(&format!("{RECORD}{REPLAY}"))
    }

    /// An agent that records each turn as a fake one does, then hands over
    /// to `program` (a real CLI) with the same arguments, stdin and
    /// environment.
    pub fn recording(program: &Path) -> FakeAgent {
        let exec = format!("exec '{}' \"$@\"\n", program.display());
        FakeAgent::with_script(&format!("{RECORD}{exec}"))
    }

    fn with_script(script: &str) -> FakeAgent {
        let dir = super::agents::target_tempdir("fake-agent-");
        let path = dir.path().join("agent");
        std::fs::write(
            &path,
            script.replace("@DIR@", &dir.path().display().to_string()),
        )
        .expect("write the fake agent");
        super::files::set_executable(&path);
        FakeAgent { dir }
    }

    /// The executable to point `ZWARM_CODEX_BIN` / `ZWARM_CLAUDE_BIN` / `ZWARM_GEMINI_BIN` at.
    pub fn program(&self) -> PathBuf {
        self.dir.path().join("agent")
    }

    fn write(&self, name: &str, contents: &[u8]) -> &Self {
        std::fs::write(self.dir.path().join(name), contents).expect("write a fake agent file");
        self
    }

    /// What every turn prints, unless that turn has its own.
    pub fn every_turn(&self, jsonl: &str) -> &Self {
        self.write("turn.jsonl", jsonl.as_bytes())
    }

    /// What turn `k` (1-based) prints, byte for byte.
    pub fn turn(&self, k: usize, bytes: impl AsRef<[u8]>) -> &Self {
        self.write(&format!("turn-{k}.jsonl"), bytes.as_ref())
    }

    /// What turn `k` does to its working directory first: a shell script
    /// run there (`printf 'x' > new.txt; rm old.txt`).
    pub fn edit(&self, k: usize, script: &str) -> &Self {
        self.write(&format!("edit-{k}"), script.as_bytes())
    }

    pub fn stderr(&self, k: usize, text: &str) -> &Self {
        self.write(&format!("stderr-{k}"), text.as_bytes())
    }

    pub fn exit(&self, k: usize, code: i32) -> &Self {
        self.write(&format!("exit-{k}"), code.to_string().as_bytes())
    }

    /// Turn `k` keeps running (after printing its lines) until killed.
    pub fn hang(&self, k: usize) -> &Self {
        self.write(&format!("hang-{k}"), b"")
    }

    /// Replays lines one at a time, `seconds` apart.
    pub fn delay(&self, seconds: f64) -> &Self {
        self.write("delay", seconds.to_string().as_bytes())
    }

    /// How many times the agent was started.
    pub fn calls(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("call-"))
                    .count()
            })
            .unwrap_or(0)
    }

    fn record(&self, name: &str, k: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}-{k}")))
            .unwrap_or_else(|e| panic!("the fake agent has no {name}-{k}: {e}"))
    }

    pub fn argv(&self, k: usize) -> Vec<String> {
        self.record("argv", k).lines().map(str::to_string).collect()
    }

    /// What turn `k`'s stdin was (e.g. `/dev/null`).
    pub fn stdin(&self, k: usize) -> String {
        self.record("stdin", k).trim().to_string()
    }

    /// The directory turn `k` ran in, symlinks resolved.
    pub fn cwd(&self, k: usize) -> PathBuf {
        PathBuf::from(self.record("cwd", k).trim_end_matches('\n'))
    }

    pub fn pid(&self, k: usize) -> i32 {
        self.record("pid", k).trim().parse().expect("a pid")
    }

    /// Waits until turn `k` has started (its argv is recorded).
    #[track_caller]
    pub fn wait_started(&self, k: usize, timeout: Duration) {
        let pid = self.dir.path().join(format!("pid-{k}"));
        eventually(timeout, &format!("turn {k} to start"), || pid.exists());
    }

    /// Waits until turn `k` (told to `hang`) has written all its output and
    /// hangs: killing it earlier would cut its stream short.
    #[track_caller]
    pub fn wait_hanging(&self, k: usize, timeout: Duration) {
        let hanging = self.dir.path().join(format!("hanging-{k}"));
        eventually(timeout, &format!("turn {k} to hang"), || hanging.exists());
    }
}

impl Default for FakeAgent {
    fn default() -> Self {
        FakeAgent::new()
    }
}

const TASK_SCRIPT: &str = r#"#!/bin/sh
d='@DIR@'
for a in "$@"; do last=$a; done
# One short line, one write, O_APPEND: concurrent agents never interleave.
printf '%s %s %s\n' "${ZWARM_SESSION_ID:--}" "$$" "$last" >> "$d/calls"
w=${last%% *}
[ -f "$d/$w.jsonl" ] && cat "$d/$w.jsonl"
[ -f "$d/$w.hang" ] && exec sleep 600
exit 0
"#;

/// A fake agent for many sessions at once. [`FakeAgent`] numbers its turns
/// in the order they claim a number, which agents started at once take in
/// any order; this one
/// chooses what to do from the first word of its task or message (its last
/// argument) and logs every invocation as `<session id> <pid> <last arg>`.
pub struct TaskAgent {
    dir: TempDir,
}

/// One start of a [`TaskAgent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskCall {
    pub session: String,
    pub pid: i32,
    pub prompt: String,
}

impl TaskAgent {
    pub fn new() -> TaskAgent {
        let dir = super::agents::target_tempdir("task-agent-");
        let script = dir.path().join("agent");
        std::fs::write(
            &script,
            TASK_SCRIPT.replace("@DIR@", &dir.path().display().to_string()),
        )
        .expect("write the task agent");
        super::files::set_executable(&script);
        TaskAgent { dir }
    }

    pub fn program(&self) -> PathBuf {
        self.dir.path().join("agent")
    }

    /// A prompt whose first word is `word` prints `jsonl`.
    pub fn on(&self, word: &str, jsonl: &str) -> &Self {
        std::fs::write(self.dir.path().join(format!("{word}.jsonl")), jsonl)
            .expect("write a task agent file");
        self
    }

    /// A prompt whose first word is `word` then runs until it is killed.
    pub fn hang(&self, word: &str) -> &Self {
        std::fs::write(self.dir.path().join(format!("{word}.hang")), b"")
            .expect("write a task agent file");
        self
    }

    /// Waits until the agent of `session` has logged its start: a kill sent
    /// before then may stop the script before its first line, which leaves
    /// the session rightly `killed` but no call to check it against.
    #[track_caller]
    pub fn wait_started(&self, session: &str, timeout: Duration) {
        eventually(timeout, &format!("the agent of {session} to start"), || {
            self.calls().iter().any(|c| c.session == session)
        });
    }

    /// Every start so far, in order.
    pub fn calls(&self) -> Vec<TaskCall> {
        let text = std::fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let mut it = l.splitn(3, ' ');
                TaskCall {
                    session: it.next().unwrap_or_default().to_string(),
                    pid: it.next().and_then(|p| p.parse().ok()).unwrap_or(0),
                    prompt: it.next().unwrap_or_default().to_string(),
                }
            })
            .collect()
    }
}

impl Default for TaskAgent {
    fn default() -> Self {
        TaskAgent::new()
    }
}
