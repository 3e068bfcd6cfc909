//! Locating the pinned agent CLIs installed by `scripts/install-agents.sh`,
//! building their environment against the mock model servers, and the
//! zwarm command the tests run.
//!
//! The CLIs live in `<repo>/.agents/node_modules/.bin/`. When they are
//! missing, the helpers PANIC (tests fail, never skip).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

/// `.agents/node_modules/.bin/gemini` (a Node script); panics with "run
/// scripts/install-agents.sh" when absent.
pub fn gemini_bin() -> PathBuf {
    locate("gemini", "@google/gemini-cli@0.61.0")
}

/// `.agents/node_modules/.bin/qwen` (a Node script; Qwen Code declares Node
/// 22 but runs headless on 20); panics with "run scripts/install-agents.sh"
/// when absent.
pub fn qwen_bin() -> PathBuf {
    locate("qwen", "@qwen-code/qwen-code@0.24.4")
}

/// `.agents/node_modules/.bin/mcp-inspector-cli`, the MCP Inspector's
/// command line (an MCP client that is not ours); panics with "run
/// scripts/install-agents.sh" when absent.
pub fn inspector_cli_bin() -> PathBuf {
    locate(
        "mcp-inspector-cli",
        "@modelcontextprotocol/inspector-cli@1.0.3",
    )
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
    _home: TempDir,
    vars: Vec<(String, String)>,
}

impl AgentEnv {
    /// The value of one of the variables, e.g. `CODEX_HOME`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The same environment with `name` set to `value` as well.
    pub fn with(mut self, name: &str, value: &str) -> AgentEnv {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_string(), value.to_string()));
        self
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
    AgentEnv { _home: home, vars }
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
    AgentEnv { _home: home, vars }
}

/// The `~/.gemini/settings.json` gemini runs headless with against a
/// mock: an API key for auth (headless, it refuses to run without an auth
/// choice), no folder-trust prompt, and nothing sent or fetched elsewhere.
pub const GEMINI_SETTINGS: &str = r#"{
  "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
  "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
  "privacy": {"usageStatisticsEnabled": false},
  "telemetry": {"enabled": false}
}
"#;

/// A private HOME (under `target/tmp`) holding only [`GEMINI_SETTINGS`],
/// and the variables that point gemini at the Gemini API mock on `port`:
/// `GOOGLE_GEMINI_BASE_URL`, `GEMINI_API_KEY`, `GEMINI_CLI_HOME` (where
/// gemini looks for `.gemini/` before `HOME`: the same folder, so that it
/// holds when another agent's environment sets `HOME` after this one),
/// `TMPDIR` (gemini writes its error reports and shell scratch files
/// there), and `NO_PROXY`.
pub fn gemini_env(port: u16) -> AgentEnv {
    let home = target_tempdir("gemini-home-");
    let mut vars: Vec<(String, String)> = vec![
        (
            "GOOGLE_GEMINI_BASE_URL".to_string(),
            format!("http://127.0.0.1:{port}"),
        ),
        ("GEMINI_API_KEY".to_string(), "mock-key".to_string()),
    ];
    vars.extend(common_vars(home.path()));
    let user_home = home.path().join("user-home");
    std::fs::create_dir_all(user_home.join(".gemini")).expect("create ~/.gemini");
    std::fs::write(user_home.join(".gemini/settings.json"), GEMINI_SETTINGS)
        .expect("write ~/.gemini/settings.json");
    vars.push((
        "GEMINI_CLI_HOME".to_string(),
        user_home.display().to_string(),
    ));
    let tmp = home.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("create TMPDIR");
    vars.push(("TMPDIR".to_string(), tmp.display().to_string()));
    AgentEnv { _home: home, vars }
}

/// The `~/.qwen/settings.json` the qwen tests run with: the OpenAI-compatible
/// auth (without an auth type qwen refuses to run headless), and none of
/// the extra requests a turn would make otherwise: no managed-memory
/// extraction after each turn (a subagent's requests to the mock), no
/// usage statistics, no update check.
pub const QWEN_SETTINGS: &str = r#"{
  "security": {"auth": {"selectedType": "openai"}},
  "memory": {"enableManagedAutoMemory": false},
  "privacy": {"usageStatisticsEnabled": false},
  "general": {"enableAutoUpdate": false}
}
"#;

/// A private `HOME` (under `target/tmp`) holding only `~/.qwen/settings.json`
/// ([`QWEN_SETTINGS`]), and the variables that point qwen at the Chat
/// Completions mock on `port`: `OPENAI_BASE_URL`, `OPENAI_API_KEY` (plus
/// `NO_PROXY`). Qwen keeps its sessions under that `HOME`, so keep this
/// alive across resumes.
pub fn qwen_env(port: u16) -> AgentEnv {
    let home = target_tempdir("qwen-home-");
    let mut vars: Vec<(String, String)> = [
        ("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1")),
        ("OPENAI_API_KEY", "mock-key".to_string()),
        // The warning qwen prints on stderr at every turn run in yolo mode.
        ("QWEN_CODE_SUPPRESS_YOLO_WARNING", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    vars.extend(common_vars(home.path()));
    let settings = home.path().join("user-home").join(".qwen");
    std::fs::create_dir_all(&settings).expect("create ~/.qwen");
    std::fs::write(settings.join("settings.json"), QWEN_SETTINGS)
        .expect("write ~/.qwen/settings.json");
    AgentEnv { _home: home, vars }
}

/// An unsigned JWT whose payload is `{"aud":"claude-gateway","sub":"mock",
/// "exp":4102444800}`: as `ANTHROPIC_AUTH_TOKEN`, it makes claude take its
/// non-Anthropic base URL for a gateway, and read the unified rate-limit
/// headers as it does for a subscription (with an API key it ignores them).
pub const GATEWAY_TOKEN: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJjbGF1ZGUtZ2F0ZXdheSIsInN1YiI6Im1vY2siLCJleHAiOjQxMDI0NDQ4MDB9.c2ln";

/// [`claude_env`], signed in to the mock as a gateway ([`GATEWAY_TOKEN`]).
pub fn claude_gateway_env(port: u16) -> AgentEnv {
    claude_env(port).with("ANTHROPIC_AUTH_TOKEN", GATEWAY_TOKEN)
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
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_GCA",
    "GOOGLE_CLOUD_PROJECT",
    "GEMINI_MODEL",
    "GEMINI_CLI_HOME",
    "QWEN_MODEL",
    "DASHSCOPE_API_KEY",
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
        "ZWARM_GEMINI_BIN",
        "ZWARM_QWEN_BIN",
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
