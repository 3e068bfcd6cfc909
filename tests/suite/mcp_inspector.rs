//! `zwarm mcp` driven by a client that is not ours: the MCP Inspector's
//! command line (pinned, installed by scripts/install-agents.sh; the test
//! fails loudly when it is missing). It lists the tools, then starts a
//! session, waits for it and shows it, each call a fresh connection.

use crate::support::agents::inspector_cli_bin;
use crate::support::fake::transcript;
use crate::support::world::World;
use serde_json::Value;
use std::process::{Command, Stdio};

/// `mcp-inspector-cli --cli zwarm --dir STORE mcp --root WORK ARGS...`: its
/// JSON output.
fn inspect(w: &World, args: &[&str]) -> Value {
    let bin = inspector_cli_bin();
    // 1.0.3 finds its own package.json relative to the current directory
    // (its build folder), not to itself.
    let build = std::fs::canonicalize(&bin)
        .expect("resolve mcp-inspector-cli")
        .parent()
        .expect("its build folder")
        .to_path_buf();
    let out = Command::new(&bin)
        .current_dir(&build)
        .env("ZWARM_CODEX_BIN", w.agent.program())
        .env_remove("ZWARM_DIR")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .arg("--cli")
        .arg(env!("CARGO_BIN_EXE_zwarm"))
        .arg("--dir")
        .arg(w.state.path())
        .arg("mcp")
        .arg("--root")
        .arg(w.work.path())
        .args(args)
        .output()
        .expect("run mcp-inspector-cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mcp-inspector-cli {args:?} exited {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn the_inspector_lists_the_tools_and_runs_a_session() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let listed = inspect(&w, &["--method", "tools/list"]);
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "start",
            "list",
            "show",
            "trajectory",
            "diff",
            "wait",
            "inject",
            "kill"
        ]
    );

    let work = w.work.path().to_str().unwrap().to_string();
    let started = inspect(
        &w,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "start",
            "--tool-arg",
            "task=say hello",
            &format!("working_dir={work}"),
        ],
    );
    assert_eq!(started["isError"], false, "{started}");
    let s = &started["structuredContent"];
    // The inspector names itself `inspector-cli`.
    assert_eq!(s["source"], "orchestrator:inspector-cli", "{s}");
    let id = s["id"].as_str().expect("an id").to_string();

    let waited = inspect(
        &w,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "wait",
            "--tool-arg",
            &format!("ids=[\"{id}\"]"),
            "timeout_s=60",
        ],
    );
    assert_eq!(waited["isError"], false, "{waited}");
    assert_eq!(waited["structuredContent"]["ended"][0], id.as_str());

    let shown = inspect(
        &w,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "show",
            "--tool-arg",
            &format!("id={id}"),
        ],
    );
    assert_eq!(shown["structuredContent"]["status"], "completed", "{shown}");
    assert_eq!(shown["structuredContent"]["id"], id.as_str());
}
