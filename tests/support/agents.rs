//! Locating the pinned agent CLIs installed by `scripts/install-agents.sh`,
//! and building their environment against the mock model servers.
//!
//! The CLIs live in `<repo>/.agents/node_modules/.bin/`. When they are
//! missing, the helpers PANIC (tests fail, never skip).
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The repository root (`CARGO_MANIFEST_DIR`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<repo>/.agents/node_modules/.bin`.
pub fn agents_bin_dir() -> PathBuf {
    repo_root()
        .join(".agents")
        .join("node_modules")
        .join(".bin")
}

fn locate(name: &str, pkg: &str) -> PathBuf {
    locate_in(&agents_bin_dir(), name, pkg)
}

/// `bin_dir/name`, or a loud panic telling to run scripts/install-agents.sh.
pub fn locate_in(bin_dir: &Path, name: &str, pkg: &str) -> PathBuf {
    let path = bin_dir.join(name);
    // `exists` follows the symlink, so a dangling link counts as missing.
    if !path.exists() {
        panic!(
            "\n\n*** The {name} CLI ({pkg}) is not installed: {} is missing.\n\
             *** The end-to-end tests need the pinned agent CLIs; they fail, never skip.\n\
             *** Fix: run scripts/install-agents.sh  (`bash scripts/install-agents.sh` from the\n\
             *** repository root; it needs Node/npm and the npm registry).\n\n",
            path.display()
        );
    }
    path
}

/// `.agents/node_modules/.bin/codex` (a Node wrapper around the native
/// binary); panics with "run scripts/install-agents.sh" when absent.
pub fn codex_bin() -> PathBuf {
    locate("codex", "@openai/codex@0.169.0")
}

/// `.agents/node_modules/.bin/claude` (a symlink to the native binary);
/// panics with "run scripts/install-agents.sh" when absent.
pub fn claude_bin() -> PathBuf {
    locate("claude", "@anthropic-ai/claude-code@2.1.330")
}

/// `ZWARM_CODEX_BIN` / `ZWARM_CLAUDE_BIN` pointing zwarm at the pinned CLIs.
pub fn zwarm_bin_envs() -> Vec<(String, String)> {
    vec![
        (
            "ZWARM_CODEX_BIN".to_string(),
            codex_bin().display().to_string(),
        ),
        (
            "ZWARM_CLAUDE_BIN".to_string(),
            claude_bin().display().to_string(),
        ),
    ]
}

/// A fresh temporary directory under cargo's `target/tmp` (inside the repo,
/// not under /tmp). Good for agent homes, NOT for agent working
/// directories (those should be outside the repository: see [`work_dir`]).
pub fn target_tempdir(prefix: &str) -> TempDir {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base).expect("create CARGO_TARGET_TMPDIR");
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .expect("create a temp dir under target/tmp")
}

/// A fresh, empty working directory for an agent, in the system temp dir
/// (outside this git repository, so no parent AGENTS.md/CLAUDE.md or git
/// root leaks in).
pub fn work_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("zwarm-agent-work-")
        .tempdir()
        .expect("create an agent working directory")
}

/// A private agent home (CODEX_HOME or CLAUDE_CONFIG_DIR) and the
/// environment variables that point the agent at a mock. The directory is
/// deleted when this is dropped, so keep it alive across resumes.
pub struct AgentEnv {
    home: TempDir,
    vars: Vec<(String, String)>,
}

impl AgentEnv {
    /// The private home directory (CODEX_HOME / CLAUDE_CONFIG_DIR).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The value of one of the variables, e.g. `CODEX_HOME`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The variables to set, as `(name, value)` pairs.
    pub fn vars(&self) -> Vec<(String, String)> {
        self.vars.clone()
    }

    /// Sets every variable on `cmd`.
    pub fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)))
    }
}

/// Variables both agents get: loopback never goes through a proxy, and a
/// private, empty `HOME` under `home`. The agents run tool commands in login
/// shells (`bash -lc`), which source the machine user's profile; a profile
/// that does real work (a version manager's rehash takes a lock file and
/// waits up to a minute for it) makes the tests slow, and a shell killed
/// mid-profile can leave such a lock behind for every later test.
fn common_vars(home: &Path) -> Vec<(String, String)> {
    let user_home = home.join("user-home");
    std::fs::create_dir_all(&user_home).expect("create a private HOME");
    vec![
        ("HOME".to_string(), user_home.display().to_string()),
        ("NO_PROXY".to_string(), "127.0.0.1,localhost".to_string()),
        ("no_proxy".to_string(), "127.0.0.1,localhost".to_string()),
    ]
}

/// The `config.toml` pointing codex at the Responses mock on `port`.
pub fn codex_config_toml(port: u16) -> String {
    format!(
        r#"# Written by tests/support/agents.rs: codex against a loopback mock.
model = "mock-model"
model_provider = "mock"
check_for_update_on_startup = false

[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:{port}/v1"
wire_api = "responses"
env_key = "MOCK_API_KEY"
request_max_retries = 0
stream_max_retries = 0
"#
    )
}

/// A private CODEX_HOME (under `target/tmp`) with a `config.toml` for the
/// Responses mock on `port`; the variables are `CODEX_HOME` and
/// `MOCK_API_KEY` (plus `NO_PROXY`).
pub fn codex_env(port: u16) -> AgentEnv {
    let home = target_tempdir("codex-home-");
    std::fs::write(home.path().join("config.toml"), codex_config_toml(port))
        .expect("write CODEX_HOME/config.toml");
    let mut vars = vec![
        ("CODEX_HOME".to_string(), home.path().display().to_string()),
        ("MOCK_API_KEY".to_string(), "mock-key".to_string()),
    ];
    vars.extend(common_vars(home.path()));
    AgentEnv { home, vars }
}

/// A private CLAUDE_CONFIG_DIR (under `target/tmp`) and the variables that
/// point claude at the Messages mock on `port`, quiet and offline:
/// `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`, `CLAUDE_CONFIG_DIR`,
/// `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`, `IS_SANDBOX=1` (needed as
/// root with `--dangerously-skip-permissions`), `CLAUDE_CODE_MAX_RETRIES=0`
/// (API errors fail at once instead of ~3 minutes of retries),
/// `CLAUDE_CODE_TMPDIR` (scratch files in the private dir, not /tmp), a few
/// switches that turn off telemetry, auto-update and error reporting, and
/// `NO_PROXY`.
pub fn claude_env(port: u16) -> AgentEnv {
    let home = target_tempdir("claude-config-");
    let mut vars: Vec<(String, String)> = [
        ("ANTHROPIC_BASE_URL", format!("http://127.0.0.1:{port}")),
        ("ANTHROPIC_API_KEY", "mock-key".to_string()),
        ("CLAUDE_CONFIG_DIR", home.path().display().to_string()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_string()),
        ("IS_SANDBOX", "1".to_string()),
        ("CLAUDE_CODE_MAX_RETRIES", "0".to_string()),
        ("DISABLE_AUTOUPDATER", "1".to_string()),
        ("DISABLE_TELEMETRY", "1".to_string()),
        ("DISABLE_ERROR_REPORTING", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // Claude's scratch files (and its messaging socket, `cc-socks/<pid>.sock`)
    // go to /tmp/claude-<uid>/ unless CLAUDE_CODE_TMPDIR says otherwise: keep
    // them in the private home, unless that path is too long for a unix
    // socket (108 bytes).
    let tmp = home.path().join("tmp");
    if tmp.as_os_str().len() <= 72 {
        std::fs::create_dir_all(&tmp).expect("create CLAUDE_CODE_TMPDIR");
        vars.push(("CLAUDE_CODE_TMPDIR".to_string(), tmp.display().to_string()));
    }
    vars.extend(common_vars(home.path()));
    AgentEnv { home, vars }
}

/// Environment variables that would point the CLIs elsewhere (real
/// accounts, other providers); remove them from commands under test.
pub const HOSTILE_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CODEX_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_MODEL",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "RUST_LOG",
];

/// `zwarm --dir <state>` run in `cwd`, stdin from /dev/null, no colour, and
/// none of the caller's variables that would steer it elsewhere (another
/// store, another agent binary, real accounts, a stall threshold). Callers
/// add the agent's environment and the command's own arguments.
pub fn zwarm_command(state: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zwarm"));
    for v in HOSTILE_VARS.iter().chain(&[
        "ZWARM_DIR",
        "ZWARM_CODEX_BIN",
        "ZWARM_CLAUDE_BIN",
        "ZWARM_STALL_AFTER",
        "CLICOLOR_FORCE",
    ]) {
        cmd.env_remove(v);
    }
    cmd.env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state_home())
        .arg("--dir")
        .arg(state)
        .current_dir(cwd)
        .stdin(Stdio::null());
    cmd
}

/// The per-user state folder the tests' zwarm records sessions' rights in:
/// one for the whole run, beside the build, never the user's own.
pub fn state_home() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("state-home")
}

/// The JSON document a successful `zwarm args...` printed.
pub fn json_of(args: &[&str], out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "zwarm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

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
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

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
        while self.is_running() {
            if self.started.elapsed() > timeout {
                let out = self.finish();
                panic!(
                    "{} did not finish within {timeout:?} (killed)\n{}",
                    self.what,
                    out.describe()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the group and waits up to
    /// 10 s for the agent to exit (then SIGKILL).
    pub fn kill(mut self, signal: libc::c_int) -> RunOutput {
        if self.is_running() {
            signal_group(&self.child, signal);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
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
