//! The pinned agent CLIs run directly, without zwarm: in their own process
//! group, with a time limit, their output collected; and the processes
//! they leave, found by their environment.

use super::agents::{AgentEnv, HOSTILE_VARS};
use super::poll::{eventually, within};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A command for `program` in `cwd` with `env` applied, stdin from
/// /dev/null, stdout and stderr piped, and the hostile variables removed.
pub fn agent_command(program: &Path, cwd: &Path, env: &AgentEnv) -> Command {
    let mut cmd = Command::new(program);
    for v in HOSTILE_VARS {
        cmd.env_remove(v);
    }
    env.apply(&mut cmd);
    cmd.current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// What a finished agent run produced.
#[derive(Debug)]
pub struct RunOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl RunOutput {
    /// stdout parsed line by line; lines that are not JSON are skipped.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The exit code, or `None` when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// A readable dump for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "status: {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// The JSON lines of one `type`.
pub fn of_type<'a>(lines: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
}

/// Sends `signal` to the whole process group led by `child` (the codex
/// Node wrapper's native child included).
pub fn signal_group(child: &Child, signal: libc::c_int) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: plain kill(2) on the group this helper created.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// SIGKILLs the whole process group led by `child`.
pub fn kill_group(child: &Child) {
    signal_group(child, libc::SIGKILL);
}

/// An agent process started by [`spawn_agent`], in its own process group,
/// with stdout and stderr collected in the background. Dropping it
/// SIGKILLs the group, so a failing test leaves nothing behind.
pub struct Spawned {
    child: Child,
    started: Instant,
    what: String,
    out_t: Option<std::thread::JoinHandle<String>>,
    err_t: Option<std::thread::JoinHandle<String>>,
    status: Option<ExitStatus>,
}

fn collect<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Starts `cmd` (e.g. from [`agent_command`]) in a new process group.
pub fn spawn_agent(mut cmd: Command) -> Spawned {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    let what = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let out_t = Some(collect(child.stdout.take()));
    let err_t = Some(collect(child.stderr.take()));
    Spawned {
        child,
        started: Instant::now(),
        what,
        out_t,
        err_t,
        status: None,
    }
}

impl Spawned {
    /// True while the agent process has not exited.
    pub fn is_running(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status.is_none()
    }

    /// Waits up to `timeout` for the process to exit. On timeout the group
    /// is SIGKILLed and this panics with everything the agent printed.
    pub fn wait(mut self, timeout: Duration) -> RunOutput {
        let left = timeout.saturating_sub(self.started.elapsed());
        if !within(left, || !self.is_running()) {
            let out = self.finish();
            panic!(
                "{} did not finish within {timeout:?} (killed)\n{}",
                self.what,
                out.describe()
            );
        }
        self.finish()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the group and waits up to
    /// 10 s for the agent to exit (then SIGKILL).
    pub fn kill(mut self, signal: libc::c_int) -> RunOutput {
        if self.is_running() {
            signal_group(&self.child, signal);
        }
        within(Duration::from_secs(10), || !self.is_running());
        self.finish()
    }

    fn finish(&mut self) -> RunOutput {
        let elapsed = self.started.elapsed();
        // Leftovers in the group (e.g. a tool command still running) die
        // too; they may hold the pipes open, so this comes before joining.
        kill_group(&self.child);
        let status = match self.status {
            Some(s) => s,
            None => self.child.wait().expect("wait for the agent"),
        };
        self.status = Some(status);
        RunOutput {
            status,
            stdout: self
                .out_t
                .take()
                .map(|t| t.join().unwrap_or_default())
                .unwrap_or_default(),
            stderr: self
                .err_t
                .take()
                .map(|t| t.join().unwrap_or_default())
                .unwrap_or_default(),
            elapsed,
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.out_t.is_some() {
            kill_group(&self.child);
            let _ = self.child.wait();
        }
    }
}

/// Runs `cmd` in its own process group and waits up to `timeout`; on
/// timeout the whole group is SIGKILLed and the test panics. Also kills
/// leftovers of the group after a normal exit, so no agent process (or a
/// tool command it spawned in the group) outlives the test.
pub fn run_with_timeout(cmd: Command, timeout: Duration) -> RunOutput {
    spawn_agent(cmd).wait(timeout)
}

/// The pids of live processes whose environment contains `name=value`
/// (e.g. a private CODEX_HOME): the agent and every tool command it ran,
/// whatever their process group or session.
pub fn processes_with_env(name: &str, value: &str) -> Vec<u32> {
    let needle = format!("{name}={value}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // Zombies (already dead, not yet reaped) do not count.
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
                    .unwrap_or(false)
        })
        .collect()
}

/// Waits until a `sleep` runs with `name=value` in its environment, i.e.
/// the agent is executing the SCN_SLOW loop.
#[track_caller]
pub fn wait_for_tool_sleep(name: &str, value: &str, spawned: &mut Spawned) {
    eventually(Duration::from_secs(30), "the slow command to start", || {
        assert!(
            spawned.is_running(),
            "the agent exited before running the slow command"
        );
        processes_with_env(name, value).into_iter().any(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        })
    });
}

/// Waits until no process has `name=value` in its environment.
#[track_caller]
pub fn wait_until_gone(name: &str, value: &str) {
    eventually(
        Duration::from_secs(10),
        "the agent's processes to be gone",
        || {
            let left = processes_with_env(name, value);
            if left.is_empty() {
                Ok(())
            } else {
                Err(left)
            }
        },
    );
}
