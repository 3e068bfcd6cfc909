//! The one test world: a store (`--dir`), a work dir, and agents standing
//! in for both CLIs: a [`FakeAgent`] by default, or the real CLIs against
//! the mock model servers ([`World::with_agents`]). Every zwarm it runs
//! gets no colour, stdin from /dev/null and none of the caller's variables
//! that would steer it elsewhere. Whatever still runs in the store when the
//! world is dropped is killed.
//!
//! [`World::run`] gives a [`Ran`], whose [`Ran::expect`] checks the exit
//! code, stdout and stderr together; [`World::ok`] insists on exit 0 and
//! an empty stderr.

use super::agents;
use super::e2e::Agent;
use super::fake::{transcript, FakeAgent};
use super::files::{copy_dir, put_file};
use super::output::{Ran, Text, ANY, EMPTY};
use super::procs::{sigkill, sigkill_group, wait_dead};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a fake agent's turn may take to start.
pub const STARTED: Duration = Duration::from_secs(10);

pub struct World {
    /// The fake agent; the program of both CLIs unless real ones are given.
    pub agent: FakeAgent,
    pub state: TempDir,
    pub work: TempDir,
    /// A state home of its own (`XDG_STATE_HOME`), where the shared one
    /// of the test run would not do.
    state_home: Option<TempDir>,
    /// Real CLIs, applied in this order after the fake agent: both set a
    /// private HOME, and the last one's is what the agents see.
    real: Vec<Agent>,
    /// How long `wait` waits for a turn.
    turn_timeout: Duration,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// An empty store and the fake agent.
    pub fn new() -> World {
        World::of(FakeAgent::new(), Vec::new())
    }

    fn of(agent: FakeAgent, real: Vec<Agent>) -> World {
        let turn_timeout = if real.is_empty() { 30 } else { 90 };
        World {
            agent,
            state: agents::target_tempdir("zwarm-state-"),
            work: agents::work_dir(),
            state_home: None,
            real,
            turn_timeout: Duration::from_secs(turn_timeout),
        }
    }

    /// A world whose zwarm keeps its records of rights in a state home of
    /// its own, for tests that remove them.
    pub fn with_own_state_home() -> World {
        let mut w = World::new();
        w.state_home = Some(agents::target_tempdir("state-home-"));
        w
    }

    /// The real CLIs (see [`super::e2e`]) instead of the fake agent.
    pub fn with_agents(real: Vec<Agent>) -> World {
        assert!(!real.is_empty());
        World::of(FakeAgent::new(), real)
    }

    /// The real CLI `agent`, each of its runs recorded by the fake agent on
    /// its way in ([`FakeAgent::recording`]): `world.agent.argv(k)` and
    /// `world.agent.stdin(k)` tell how turn k was started.
    pub fn recording(mut agent: Agent) -> World {
        let recorder = FakeAgent::recording(&agent.bin);
        agent.bin = recorder.program();
        World::of(recorder, vec![agent])
    }

    /// A copy of the store at `tree`. It lies in the system's temporary
    /// folder, which every user may traverse, as does the work dir.
    pub fn with_store_from(tree: &Path) -> World {
        let mut w = World::new();
        w.state = tempfile::Builder::new()
            .prefix("zwarm-store-copy-")
            .tempdir()
            .expect("create a store");
        copy_dir(tree, w.state.path());
        w
    }

    /// The environment of the world's main real agent (the last one).
    pub fn agent_env(&self) -> &agents::AgentEnv {
        &self.real.last().expect("a real agent").env
    }

    /// Where this world's zwarm records sessions' rights.
    pub fn rights_dir(&self) -> PathBuf {
        self.state_home
            .as_ref()
            .map_or_else(agents::state_home, |h| h.path().to_path_buf())
            .join("zwarm")
    }

    /// `zwarm --dir <state> args...` run in the work dir with this world's
    /// agents.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = agents::zwarm_command(self.state.path(), self.work.path());
        cmd.env("ZWARM_CODEX_BIN", self.agent.program())
            .env("ZWARM_CLAUDE_BIN", self.agent.program())
            .env("ZWARM_GEMINI_BIN", self.agent.program())
            .env("ZWARM_QWEN_BIN", self.agent.program());
        for a in &self.real {
            a.env.apply(&mut cmd);
            cmd.env(a.bin_var, &a.bin);
        }
        if let Some(home) = &self.state_home {
            cmd.env("XDG_STATE_HOME", home.path());
        }
        cmd.args(args);
        cmd
    }

    /// [`World::cmd`] with another agent program standing in for both CLIs.
    pub fn cmd_with(&self, agent: &Path, args: &[&str]) -> Command {
        let mut cmd = self.cmd(args);
        cmd.env("ZWARM_CODEX_BIN", agent)
            .env("ZWARM_CLAUDE_BIN", agent)
            .env("ZWARM_GEMINI_BIN", agent)
            .env("ZWARM_QWEN_BIN", agent);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        Ran::of(args, self.cmd(args).output().expect("run zwarm"))
    }

    /// Runs, insisting on exit 0 and nothing on stderr; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args).expect(0, ANY, EMPTY).stdout()
    }

    /// `zwarm --json args...`, insisting on exit 0 and nothing on stderr,
    /// parsed.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run(&all).expect(0, ANY, EMPTY).json()
    }

    /// `zwarm --json args...`, insisting on exit 0 and on a stderr that
    /// holds what `stderr` says (a warning), parsed.
    #[track_caller]
    pub fn json_warned<'a>(&self, args: &[&str], stderr: impl Into<Text<'a>>) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run(&all).expect(0, ANY, stderr).json()
    }

    /// `zwarm --json args...` whatever its exit code: the code and stdout.
    pub fn json_any(&self, args: &[&str]) -> (i32, String) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let ran = self.run(&all);
        (ran.code(), ran.stdout())
    }

    /// `zwarm start <task>` (more args before the task allowed); the id.
    #[track_caller]
    pub fn start(&self, args: &[&str]) -> String {
        let mut all = vec!["start"];
        all.extend_from_slice(args);
        self.ok(&all).trim().to_string()
    }

    /// `zwarm start [-a adapter] -C <work> task`: the new id. It must come
    /// back at once: the turn runs in the background.
    #[track_caller]
    pub fn start_with(&self, adapter: Option<&str>, task: &str) -> String {
        let work = self.work.path().to_str().unwrap();
        let mut args = vec!["start"];
        if let Some(a) = adapter {
            args.extend(["-a", a]);
        }
        args.extend(["-C", work, task]);
        let t = Instant::now();
        let id = self.ok(&args).trim().to_string();
        let elapsed = t.elapsed();
        assert!(elapsed < Duration::from_secs(3), "start took {elapsed:?}");
        assert!(uuid_like(&id), "start printed {id:?}");
        id
    }

    /// `zwarm inject <short id> -- message`.
    #[track_caller]
    pub fn inject(&self, id: &str, message: &str) {
        self.ok(&["inject", &id[..8], "--", message]);
    }

    /// `zwarm wait --timeout .. <id>`: the exit code.
    pub fn wait(&self, id: &str) -> i32 {
        let timeout = format!("{}s", self.turn_timeout.as_secs());
        self.run(&["wait", "--timeout", &timeout, id]).code()
    }

    /// Waits for the session's turn to end, which it must in time: the
    /// exit code of `wait` and the session (`show --json`).
    #[track_caller]
    pub fn wait_shown(&self, id: &str) -> (i32, Value) {
        let code = self.wait(id);
        assert_ne!(code, 124, "session {id} did not end in time");
        (code, self.json(&["show", id]))
    }

    /// Starts a session whose agent replays the transcript `name` and exits
    /// `exit`, and waits for it; the id.
    #[track_caller]
    pub fn finished(&self, name: &str, exit: i32) -> String {
        let k = self.agent.calls() + 1;
        self.agent.turn(k, transcript(name)).exit(k, exit);
        let id = self.start(&["the task"]);
        self.wait(&id);
        self.slots_let_go(&id);
        id
    }

    /// Waits until the session's supervisors have let go of their queue
    /// slots. `wait` returns once the ending is recorded, and the slot goes
    /// just after: a test that compares the store before and after must
    /// not see that as a change.
    #[track_caller]
    pub fn slots_let_go(&self, id: &str) {
        let queue = self.state.path().join("queue");
        let held = || {
            let Ok(groups) = std::fs::read_dir(&queue) else {
                return false;
            };
            groups.flatten().any(|g| {
                std::fs::read_dir(g.path().join("running")).is_ok_and(|r| {
                    r.flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with(id))
                })
            })
        };
        assert!(
            super::poll::within(Duration::from_secs(10), || !held()),
            "session {id} still holds a queue slot after it ended"
        );
    }

    /// A codex session (`args` before the task) that ran one turn to
    /// completion; every later turn replays the same transcript.
    #[track_caller]
    pub fn completed(&self, args: &[&str]) -> String {
        self.agent.every_turn(&transcript("codex_first_turn.jsonl"));
        let mut all = args.to_vec();
        all.push("the task");
        let id = self.start(&all);
        assert_eq!(self.wait(&id), 0, "{}", self.meta(&id));
        self.slots_let_go(&id);
        id
    }

    /// Starts a session and waits for its turn to end; the id.
    #[track_caller]
    pub fn start_and_wait(&self, args: &[&str]) -> String {
        let id = self.start(args);
        self.wait(&id);
        id
    }

    /// Starts a codex session (`args` before the task) whose agent prints
    /// the start of a turn and then runs until it is killed; returns once
    /// all of that is written and the agent hangs.
    #[track_caller]
    pub fn start_hanging(&self, args: &[&str]) -> String {
        let k = self.agent.calls() + 1;
        self.agent
            .turn(k, transcript("codex_sigterm.jsonl"))
            .hang(k);
        let mut all = args.to_vec();
        all.push("the task");
        let id = self.start(&all);
        self.agent.wait_hanging(k, STARTED);
        id
    }

    pub fn session_dir(&self, id: &str) -> PathBuf {
        self.state.path().join("sessions").join(id)
    }

    /// The file holding what the agent printed in the session's turn `turn`.
    pub fn turn_file(&self, id: &str, turn: u32) -> PathBuf {
        self.session_dir(id)
            .join("turns")
            .join(format!("turn_{turn}.jsonl"))
    }

    /// What the agent printed in the session's turn `turn`, line by line
    /// (lines that are not JSON left out).
    #[track_caller]
    pub fn turn_lines(&self, id: &str, turn: u32) -> Vec<Value> {
        let path = self.turn_file(id, turn);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The ids of the folders in `sessions/`.
    pub fn session_ids(&self) -> Vec<String> {
        match std::fs::read_dir(self.state.path().join("sessions")) {
            Ok(d) => d
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The session's `meta.json`, parsed.
    #[track_caller]
    pub fn meta(&self, id: &str) -> Value {
        let path = self.session_dir(id).join("meta.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("meta.json parses")
    }

    #[track_caller]
    pub fn meta_bytes(&self, id: &str) -> Vec<u8> {
        std::fs::read(self.session_dir(id).join("meta.json")).expect("read meta.json")
    }

    /// Replaces the session's `meta.json` (through a rename).
    pub fn put_meta(&self, id: &str, bytes: &[u8]) {
        put_file(&self.session_dir(id).join("meta.json"), bytes);
    }

    /// Changes the session's `meta.json` with `f` (through a rename).
    pub fn edit_meta(&self, id: &str, f: impl FnOnce(&mut Value)) {
        let mut meta = self.meta(id);
        f(&mut meta);
        self.put_meta(id, &serde_json::to_vec_pretty(&meta).unwrap());
    }

    /// A copy of session `from`, its turn files included, under a new id.
    pub fn clone_session(&self, from: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.clone_session_as(from, &id);
        id
    }

    /// A copy of session `from`, its turn files included, under the id `to`.
    pub fn clone_session_as(&self, from: &str, to: &str) {
        let dir = self.session_dir(to);
        std::fs::create_dir_all(dir.join("turns")).unwrap();
        for e in std::fs::read_dir(self.session_dir(from).join("turns")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join("turns").join(e.file_name())).unwrap();
        }
        let mut meta = self.meta(from);
        meta["id"] = json!(to);
        std::fs::write(
            dir.join("meta.json"),
            serde_json::to_vec_pretty(&meta).unwrap(),
        )
        .unwrap();
    }

    /// The pid of the session's supervisor, from `meta.json`.
    pub fn supervisor_of(&self, id: &str) -> i32 {
        self.meta(id)["pid"].as_i64().expect("a supervisor pid") as i32
    }

    /// The pid of the agent of the session's first turn, from `meta.json`.
    pub fn agent_of(&self, id: &str) -> i32 {
        self.meta(id)["turns"][0]["agent"]["pid"]
            .as_i64()
            .expect("an agent pid") as i32
    }

    /// The pids of the supervisor and the agent of the session's last turn.
    pub fn turn_pids(&self, id: &str) -> (i32, i32) {
        let m = self.meta(id);
        let t = m["turns"].as_array().unwrap().last().unwrap().clone();
        (
            t["supervisor"]["pid"].as_i64().unwrap() as i32,
            t["agent"]["pid"].as_i64().unwrap() as i32,
        )
    }

    /// SIGKILLs a session's supervisor and agent, as a crash or the OOM
    /// killer would, and waits until both are gone.
    pub fn crash(&self, id: &str) {
        let sup = self.supervisor_of(id);
        let agent = self.agent_of(id);
        sigkill(sup);
        sigkill_group(agent);
        wait_dead(sup);
        wait_dead(agent);
    }

    /// The session's steps, from `trajectory --json`.
    pub fn steps(&self, id: &str) -> Vec<Value> {
        self.json(&["trajectory", id])["steps"]
            .as_array()
            .expect("steps")
            .clone()
    }
}

impl Drop for World {
    /// A failed assertion must not leave a turn running for minutes.
    fn drop(&mut self) {
        let _ = self.cmd(&["kill", "--all"]).output();
    }
}

/// A session id: 36 hex digits and dashes.
pub fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The first 8 characters of an id, as zwarm shows it.
pub fn short(id: &str) -> &str {
    &id[..8]
}

/// A local time without offset, `ago` ago, as `meta.json` holds them.
pub fn local_time_ago(ago: Duration) -> String {
    let t = chrono::Local::now().naive_local() - chrono::Duration::from_std(ago).unwrap();
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// Turns a finished session back into one that claims its turn is running.
pub fn reopen(meta: &mut Value) {
    meta["status"] = json!("running");
    meta["error"] = Value::Null;
    meta["exit_code"] = Value::Null;
    let t = meta["turns"].as_array_mut().unwrap().last_mut().unwrap();
    for k in ["ended_at", "ending", "exit", "error", "settled_by"] {
        t.as_object_mut().unwrap().remove(k);
    }
}
