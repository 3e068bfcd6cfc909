//! The real agent CLIs in a [`super::world::World`] (each pointed at its
//! mock: the mocks themselves belong to the test), and what to look for in
//! the trajectories they produce.

use super::agents::{self, AgentEnv};
use serde_json::Value;
use std::path::PathBuf;

/// One agent CLI: its environment and the variable that names its binary.
pub struct Agent {
    pub env: AgentEnv,
    pub bin_var: &'static str,
    pub bin: PathBuf,
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

/// The real `gemini` against the Gemini API mock on `port`.
pub fn gemini(port: u16) -> Agent {
    Agent {
        env: agents::gemini_env(port),
        bin_var: "ZWARM_GEMINI_BIN",
        bin: agents::gemini_bin(),
    }
}

/// The real `qwen` against the Chat Completions mock on `port`.
pub fn qwen(port: u16) -> Agent {
    Agent {
        env: agents::qwen_env(port),
        bin_var: "ZWARM_QWEN_BIN",
        bin: agents::qwen_bin(),
    }
}

/// The real `claude`, signed in to the Messages mock on `port` as a
/// gateway, so that it reads the mock's rate-limit headers.
pub fn claude_gateway(port: u16) -> Agent {
    Agent {
        env: agents::claude_gateway_env(port),
        bin_var: "ZWARM_CLAUDE_BIN",
        bin: agents::claude_bin(),
    }
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
