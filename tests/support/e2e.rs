//! The zwarm side of an end-to-end world: a state dir, a work dir, and the
//! environments of the real agent CLIs (each pointed at its mock) applied to
//! every zwarm run. The mocks themselves belong to the test file's world.

use super::agents::{self, AgentEnv};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// One agent CLI: its environment and the variable that names its binary.
pub struct Agent {
    pub env: AgentEnv,
    bin_var: &'static str,
    bin: PathBuf,
}

/// The real `codex` against the Responses mock on `port`.
pub fn codex(port: u16) -> Agent {
    Agent {
        env: agents::codex_env(port),
        bin_var: "ZWARM_CODEX_BIN",
        bin: agents::codex_bin(),
    }
}

/// The real `claude` against the Messages mock on `port`.
pub fn claude(port: u16) -> Agent {
    Agent {
        env: agents::claude_env(port),
        bin_var: "ZWARM_CLAUDE_BIN",
        bin: agents::claude_bin(),
    }
}

pub struct Zwarm {
    pub state: TempDir,
    pub work: TempDir,
    /// Applied in this order: both set a private HOME, and the last one's
    /// is what the agents see.
    agents: Vec<Agent>,
}

impl Zwarm {
    pub fn new(agents: Vec<Agent>) -> Zwarm {
        assert!(!agents.is_empty());
        Zwarm {
            state: agents::target_tempdir("zwarm-state-"),
            work: agents::work_dir(),
            agents,
        }
    }

    /// The environment of the world's main agent (the last one).
    pub fn env(&self) -> &AgentEnv {
        &self.agents.last().expect("an agent").env
    }

    pub fn zwarm(&self, args: &[&str]) -> Output {
        let mut cmd = agents::zwarm_command(self.state.path(), self.work.path());
        for a in &self.agents {
            a.env.apply(&mut cmd);
            cmd.env(a.bin_var, &a.bin);
        }
        cmd.args(args).output().expect("run zwarm")
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        agents::json_of(args, &self.zwarm(&all))
    }

    /// Stdout of a run that must succeed.
    pub fn text(&self, args: &[&str]) -> String {
        let out = self.zwarm(args);
        assert!(
            out.status.success(),
            "zwarm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `zwarm start [-a adapter] -C <work> task`: the new id. It must come
    /// back at once: the turn runs in the background.
    pub fn start_with(&self, adapter: Option<&str>, task: &str) -> String {
        let work = self.work.path().to_str().unwrap();
        let mut args = vec!["start"];
        if let Some(a) = adapter {
            args.extend(["-a", a]);
        }
        args.extend(["-C", work, task]);
        let t = Instant::now();
        let id = self.text(&args).trim().to_string();
        let elapsed = t.elapsed();
        assert!(elapsed < Duration::from_secs(3), "start took {elapsed:?}");
        assert!(uuid_like(&id), "start printed {id:?}");
        id
    }

    pub fn inject(&self, id: &str, message: &str) {
        self.text(&["inject", &id[..8], "--", message]);
    }

    /// `zwarm wait`: blocks until the turn ends; returns its exit code and the session.
    pub fn wait(&self, id: &str) -> (i32, Value) {
        let out = self.zwarm(&["wait", "--timeout", "90s", id]);
        let code = out.status.code().unwrap_or(-1);
        assert_ne!(code, 124, "session {id} did not end in time");
        (code, self.json(&["show", id]))
    }

    pub fn session_dir(&self, id: &str) -> PathBuf {
        self.state.path().join("sessions").join(id)
    }

    pub fn meta(&self, id: &str) -> Value {
        let raw = std::fs::read(self.session_dir(id).join("meta.json")).unwrap();
        serde_json::from_slice(&raw).unwrap()
    }
}

impl Drop for Zwarm {
    /// A failed assertion must not leave a slow turn running for a minute.
    fn drop(&mut self) {
        // Not through `zwarm()`: that panics when a CLI is missing, and a
        // panic while unwinding aborts the whole test binary.
        let _ = Command::new(env!("CARGO_BIN_EXE_zwarm"))
            .arg("--dir")
            .arg(self.state.path())
            .args(["kill", "--all"])
            .stdin(Stdio::null())
            .output();
    }
}

pub fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

pub fn steps(traj: &Value) -> &Vec<Value> {
    traj["steps"].as_array().expect("steps")
}

/// The steps of one type in one turn.
pub fn find_step<'a>(traj: &'a Value, kind: &str, turn: u64) -> Vec<&'a Value> {
    steps(traj)
        .iter()
        .filter(|s| s["type"] == kind && s["turn"] == turn)
        .collect()
}

/// Asserts that turn 1 ran exactly one command, `command` (as the agent
/// wrapped it), which printed the mocks' `hello-from-mock` and exited 0.
pub fn assert_ran_the_hello_command(traj: &Value, command: &str) {
    let commands = find_step(traj, "command", 1);
    assert_eq!(commands.len(), 1, "{traj:#}");
    let text = |key: &str| commands[0][key].as_str().unwrap_or_default().to_string();
    assert!(text("command").contains(command), "{traj:#}");
    assert!(text("output").contains("hello-from-mock"), "{traj:#}");
    assert_eq!(commands[0]["exit_code"], 0, "{traj:#}");
}
