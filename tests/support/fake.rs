//! A fake agent and a zwarm "world" for integration tests that do not need
//! the real CLIs.
//!
//! The fake agent is a small `sh` script that replays recorded JSONL byte
//! for byte, so zwarm sees exactly what a real codex or claude printed. What
//! it does on its k-th invocation (turn k) is read from files in its own
//! directory, which a test can change between turns:
//!
//! - `turn-<k>.jsonl` (or `turn.jsonl` for every turn): printed to stdout;
//! - `delay`: seconds to sleep between lines (then lines are replayed one
//!   at a time, each with its newline);
//! - `stderr-<k>`: printed to stderr after stdout;
//! - `hang-<k>`: if present, the script then sleeps until it is killed
//!   (and says so in `hanging-<k>`, once all its output is written);
//! - `exit-<k>`: the exit code (default 0).
//!
//! It records `argv-<k>` (one argument per line), `stdin-<k>` (what its
//! stdin is, from /proc/self/fd/0), `env-<k>` (its environment), `cwd-<k>`
//! (its working directory) and, last, `pid-<k>`.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The recorded transcript `name` from `tests/data/transcripts/`.
pub fn transcript(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transcripts")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

const SCRIPT: &str = r#"#!/bin/sh
d='@DIR@'
k=$(( $(cat "$d/count" 2>/dev/null || echo 0) + 1 ))
printf '%s' "$k" > "$d/count"
: > "$d/argv-$k"
for a in "$@"; do printf '%s\n' "$a" >> "$d/argv-$k"; done
readlink /proc/self/fd/0 > "$d/stdin-$k" 2>/dev/null
env > "$d/env-$k"
pwd -P > "$d/cwd-$k"
# Last, through a rename: `wait_started` polls for it, so every other record
# of this turn is complete once it appears.
printf '%s\n' "$$" > "$d/pid-$k.tmp" && mv "$d/pid-$k.tmp" "$d/pid-$k"
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
        let dir = super::agents::target_tempdir("fake-agent-");
        let script = dir.path().join("agent");
        std::fs::write(
            &script,
            SCRIPT.replace("@DIR@", &dir.path().display().to_string()),
        )
        .expect("write the fake agent");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the fake agent");
        FakeAgent { dir }
    }

    /// The executable to point `ZWARM_CODEX_BIN` / `ZWARM_CLAUDE_BIN` at.
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
        std::fs::read_to_string(self.dir.path().join("count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
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

    pub fn env(&self, k: usize) -> String {
        self.record("env", k)
    }

    /// The directory turn `k` ran in, symlinks resolved.
    pub fn cwd(&self, k: usize) -> PathBuf {
        PathBuf::from(self.record("cwd", k).trim_end_matches('\n'))
    }

    pub fn pid(&self, k: usize) -> i32 {
        self.record("pid", k).trim().parse().expect("a pid")
    }

    /// Waits until turn `k` has started (its argv is recorded).
    pub fn wait_started(&self, k: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.dir.path().join(format!("pid-{k}")).exists() {
            assert!(Instant::now() < deadline, "turn {k} never started");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until turn `k` (told to `hang`) has written all its output and
    /// hangs: killing it earlier would cut its stream short.
    pub fn wait_hanging(&self, k: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.dir.path().join(format!("hanging-{k}")).exists() {
            assert!(Instant::now() < deadline, "turn {k} never got to hang");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Default for FakeAgent {
    fn default() -> Self {
        FakeAgent::new()
    }
}

/// A state dir, a work dir and a fake agent standing in for both CLIs.
pub struct World {
    pub agent: FakeAgent,
    pub state: TempDir,
    pub work: TempDir,
    /// A state home of its own (`XDG_STATE_HOME`), where the shared one
    /// of the test run would not do.
    pub state_home: Option<TempDir>,
}

impl World {
    pub fn new() -> World {
        World {
            agent: FakeAgent::new(),
            state: super::agents::target_tempdir("zwarm-state-"),
            work: super::agents::work_dir(),
            state_home: None,
        }
    }

    /// A world whose zwarm keeps its records of rights in a state home of
    /// its own, for tests that remove them.
    pub fn with_own_state_home() -> World {
        World {
            state_home: Some(super::agents::target_tempdir("state-home-")),
            ..World::new()
        }
    }

    /// Where this world's zwarm records sessions' rights.
    pub fn rights_dir(&self) -> PathBuf {
        self.state_home
            .as_ref()
            .map_or_else(super::agents::state_home, |h| h.path().to_path_buf())
            .join("zwarm")
    }

    /// `zwarm --dir <state> args...` with the fake agent, no colour, stdin
    /// from /dev/null.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = super::agents::zwarm_command(self.state.path(), self.work.path());
        cmd.env("ZWARM_CODEX_BIN", self.agent.program())
            .env("ZWARM_CLAUDE_BIN", self.agent.program())
            .args(args);
        if let Some(home) = &self.state_home {
            cmd.env("XDG_STATE_HOME", home.path());
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run zwarm")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "zwarm {args:?} exited {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 stdout")
    }

    /// `zwarm --json args...`, asserting success, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("zwarm {args:?}: {e}: {out}"))
    }

    /// `zwarm start <task>` (more args before the task allowed); the id.
    pub fn start(&self, args: &[&str]) -> String {
        let mut all = vec!["start"];
        all.extend_from_slice(args);
        self.ok(&all).trim().to_string()
    }

    /// `zwarm wait --timeout 30s <id>`: the exit code.
    pub fn wait(&self, id: &str) -> i32 {
        self.run(&["wait", "--timeout", "30s", id])
            .status
            .code()
            .expect("wait exited by a signal")
    }

    /// The session's `meta.json`, parsed.
    pub fn meta(&self, id: &str) -> Value {
        let path = self.session_dir(id).join("meta.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("meta.json parses")
    }

    pub fn session_dir(&self, id: &str) -> PathBuf {
        self.state.path().join("sessions").join(id)
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// stderr of an output, lossily.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stops every running session of a world when dropped, so a test that
/// fails halfway leaves no fake agent hanging for minutes.
pub struct StopAll<'a>(&'a World);

impl Drop for StopAll<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["kill", "--all"]);
    }
}

impl World {
    pub fn stop_all_on_drop(&self) -> StopAll<'_> {
        StopAll(self)
    }

    /// `zwarm --json args...` whatever its exit code: the code and stdout.
    pub fn json_any(&self, args: &[&str]) -> (i32, String) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        (
            out.status.code().expect("zwarm exited by a signal"),
            String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        )
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
/// with a shared counter, which concurrent starts would race on; this one
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
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the task agent");
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
    pub fn wait_started(&self, session: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.calls().iter().any(|c| c.session == session) {
            assert!(
                Instant::now() < deadline,
                "the agent of {session} never started"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
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

impl World {
    /// [`World::cmd`] with another agent program standing in for both CLIs.
    pub fn cmd_with(&self, agent: &Path, args: &[&str]) -> Command {
        let mut cmd = self.cmd(args);
        cmd.env("ZWARM_CODEX_BIN", agent)
            .env("ZWARM_CLAUDE_BIN", agent);
        cmd
    }
}

/// Asserts the exit code, showing both streams when it is wrong.
#[track_caller]
pub fn expect(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// The error of a failed command, after checking stderr holds nothing but
/// `zwarm: error: ...` and at most a `hint:` line.
#[track_caller]
pub fn error_of(out: &Output) -> String {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(matches!(lines.len(), 1 | 2), "not one error line: {err}");
    let msg = lines[0]
        .strip_prefix("zwarm: error: ")
        .unwrap_or_else(|| panic!("no error line: {err}"));
    if let Some(hint) = lines.get(1) {
        assert!(hint.starts_with("hint: "), "{err}");
    }
    msg.to_string()
}
