//! The real orchestrators: codex and claude, each against its mock model
//! scripted to call zwarm's MCP tools (`start` a child session, `wait` for
//! it, `show` it) and answer with the child's final message. The child runs
//! the fake agent, whose final message carries a value made for this run, so
//! an answer made up from memory cannot pass.

use crate::support::agent_runs::{agent_command, run_with_timeout};
use crate::support::agents;
use crate::support::fake::transcript;
use crate::support::mock_messages;
use crate::support::mock_responses;
use crate::support::orchestrate::ANSWER_PREFIX;
use crate::support::world::World;
use std::time::Duration;

/// A codex turn whose final message is `text`.
fn child_turn(text: &str) -> String {
    transcript("codex_first_turn.jsonl").replace("All done: mock says hi.", text)
}

/// The child session the orchestrator started: its source and final message.
fn the_child(w: &World) -> (String, serde_json::Value) {
    let ids = w.session_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let s = w.json(&["show", &ids[0]]);
    (ids[0].clone(), s)
}

fn zwarm_env(w: &World) -> Vec<(String, String)> {
    vec![
        ("ZWARM_DIR".into(), w.state.path().display().to_string()),
        (
            "ZWARM_CODEX_BIN".into(),
            w.agent.program().display().to_string(),
        ),
    ]
}

#[test]
fn codex_delegates_to_a_zwarm_session_over_mcp() {
    let mock = mock_responses::MockServer::start();
    let w = World::new();
    let value = format!("child-result-{}", uuid::Uuid::new_v4());
    w.agent.every_turn(&child_turn(&value));
    let env = agents::codex_env(mock.port());
    let home = std::path::PathBuf::from(env.var("CODEX_HOME").unwrap());
    let mut config = agents::codex_config_toml(mock.port());
    config.push_str(&format!(
        "\n[mcp_servers.zwarm]\ncommand = \"{}\"\nargs = [\"mcp\", \"--root\", \"{}\"]\ndefault_tools_approval_mode = \"approve\"\ntool_timeout_sec = 120\n[mcp_servers.zwarm.env]\n",
        env!("CARGO_BIN_EXE_zwarm"),
        w.work.path().display()
    ));
    for (k, v) in zwarm_env(&w) {
        config.push_str(&format!("{k} = \"{v}\"\n"));
    }
    std::fs::write(home.join("config.toml"), config).unwrap();
    let mut cmd = agent_command(&agents::codex_bin(), w.work.path(), &env);
    cmd.args([
        "exec",
        "--json",
        "--skip-git-repo-check",
        "SCN_ORCHESTRATE write the report",
    ]);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let (_, child) = the_child(&w);
    assert_eq!(child["status"], "completed", "{child}");
    assert_eq!(child["task"], "write the report");
    assert_eq!(child["source"], "orchestrator:codex-mcp-client", "{child}");
    // The orchestrator's answer carries what the child said.
    let answer = format!("{ANSWER_PREFIX}{value}");
    assert!(
        out.json_lines()
            .iter()
            .any(|l| l["item"]["type"] == "agent_message"
                && l["item"]["text"].as_str() == Some(answer.as_str())),
        "{}",
        out.describe()
    );
}

#[test]
fn claude_delegates_to_a_zwarm_session_over_mcp() {
    let mock = mock_messages::MockServer::start();
    let w = World::new();
    let value = format!("child-result-{}", uuid::Uuid::new_v4());
    w.agent.every_turn(&child_turn(&value));
    let env = agents::claude_env(mock.port()).with("ENABLE_TOOL_SEARCH", "false");
    let servers = serde_json::json!({"mcpServers": {"zwarm": {
        "command": env!("CARGO_BIN_EXE_zwarm"),
        "args": ["mcp", "--root", w.work.path()],
        "env": zwarm_env(&w).into_iter().collect::<std::collections::BTreeMap<_, _>>(),
    }}});
    let mut cmd = agent_command(&agents::claude_bin(), w.work.path(), &env);
    cmd.args([
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        "--mcp-config",
        &servers.to_string(),
        // --mcp-config takes several values: the prompt goes after `--`.
        "--",
        "SCN_ORCHESTRATE write the report",
    ]);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let (_, child) = the_child(&w);
    assert_eq!(child["status"], "completed", "{child}");
    // Claude speaks the stateless protocol (`server/discover`, its name in
    // every request's `_meta`), not `initialize`.
    assert_eq!(child["source"], "orchestrator:claude-code", "{child}");
    let answer = format!("{ANSWER_PREFIX}{value}");
    assert!(
        out.json_lines()
            .iter()
            .any(|l| l["type"] == "result" && l["result"].as_str() == Some(answer.as_str())),
        "{}",
        out.describe()
    );
}
