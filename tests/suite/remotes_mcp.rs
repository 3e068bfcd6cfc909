//! The MCP server's tools on a remote (`host`): the same transport as the
//! CLI's `--host`, the same documents with `host` added, and the server's
//! caps held there too.

use crate::support::fake::transcript;
use crate::support::mcp::Mcp;
use crate::support::sshd::SshHost;
use serde_json::json;

#[test]
fn the_mcp_tools_run_on_a_remote_within_the_servers_caps() {
    let h = SshHost::start();
    h.add("r1");
    h.far
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let mut mcp = Mcp::start_cmd(h.cmd(&[
        "mcp",
        "--max-sessions",
        "1",
        "--max-sandbox",
        "workspace-write",
    ]));
    let tools = mcp.request("tools/list", json!({}));
    let start_schema = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "start")
        .unwrap()["inputSchema"]
        .clone();
    assert_eq!(start_schema["properties"]["host"]["type"], "string");

    // The sandbox cap holds there as here, before anything is sent.
    let why = mcp.refused(
        "start",
        json!({"host": "r1", "task": "t", "sandbox": "danger-full-access"}),
    );
    assert!(why.contains("--max-sandbox workspace-write"), "{why}");
    assert!(h.far.session_ids().is_empty());

    let started = mcp.ok("start", json!({"host": "r1", "task": "say 'hi'; $(id)"}));
    assert_eq!(started["host"]["name"], "r1");
    let id = started["id"].as_str().unwrap().to_string();
    assert_eq!(h.far.session_ids(), std::slice::from_ref(&id));
    assert!(h.near.session_ids().is_empty());
    assert_eq!(h.far.meta(&id)["task"], "say 'hi'; $(id)");
    // Codex's own default, within the cap.
    assert_eq!(h.far.meta(&id)["sandbox"], "workspace-write");

    let waited = mcp.ok("wait", json!({"host": "r1", "ids": [id.clone()]}));
    assert_eq!(waited["timed_out"], false, "{waited}");
    assert_eq!(waited["ended"], json!([id.clone()]));
    assert_eq!(waited["running"], json!([]));
    let shown = mcp.ok("show", json!({"host": "r1", "id": &id[..8]}));
    assert_eq!(shown["status"], "completed");
    assert_eq!(shown["host"]["name"], "r1");
    let listed = mcp.ok("list", json!({"host": "r1"}));
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["sessions"][0]["id"], id.as_str());
    // Its steps, paged here as a local trajectory's are.
    let all = mcp.ok("trajectory", json!({"host": "r1", "id": &id[..8]}));
    assert_eq!(all["host"]["name"], "r1");
    assert_eq!(all["status"], "completed");
    let total = all["total_steps"].as_u64().unwrap();
    assert!(total >= 2, "{all}");
    assert_eq!(all["steps"].as_array().unwrap().len() as u64, total);
    let page = mcp.ok(
        "trajectory",
        json!({"host": "r1", "id": &id[..8], "since_step": 1, "max_chars": 1}),
    );
    assert_eq!(page["first_step"], 1);
    assert_eq!(page["steps"].as_array().unwrap().len(), 1);
    assert_eq!(page["steps"][0], all["steps"][1]);
    assert_eq!(page["next_step"], 2);
    assert_eq!(page["omitted_steps"].as_u64().unwrap(), total - 2);

    // The ended session no longer counts against --max-sessions 1: a
    // continuation of one this server started is allowed.
    let injected = mcp.ok(
        "inject",
        json!({"host": "r1", "id": &id[..8], "message": "again"}),
    );
    assert_eq!(injected["id"], id.as_str());
    mcp.ok("wait", json!({"host": "r1", "ids": [id.clone()]}));
    assert_eq!(h.far.meta(&id)["turn"], 2);

    // A session this server did not start there, whose sandbox it cannot
    // see, is not continued by a capped server.
    let other = h
        .run(&["start", "--host", "r1", "not the server's"])
        .stdout()
        .trim()
        .to_string();
    h.run(&["wait", &format!("r1:{other}")]);
    let why = mcp.refused(
        "inject",
        json!({"host": "r1", "id": other, "message": "more"}),
    );
    assert!(why.contains("not started by this server"), "{why}");

    // A session running there counts against --max-sessions here: with
    // one of this server's running on r1, no other starts, here or there.
    h.far
        .agent
        .turn(4, transcript("codex_sigterm.jsonl"))
        .hang(4);
    let hanging = mcp.ok("start", json!({"host": "r1", "task": "hang"}));
    let hanging = hanging["id"].as_str().unwrap().to_string();
    h.far.agent.wait_hanging(4, crate::support::world::STARTED);
    let why = mcp.refused("start", json!({"task": "here"}));
    assert!(why.contains("--max-sessions 1"), "{why}");
    assert!(h.near.session_ids().is_empty());
    let killed = mcp.ok("kill", json!({"host": "r1", "id": hanging}));
    assert_eq!(killed["results"][0]["ok"], true, "{killed}");
    assert_eq!(h.far.meta(&hanging)["status"], "killed");

    // What the host says is said with its name; what is not a remote, too.
    let why = mcp.refused("show", json!({"host": "r1", "id": "deadbeef"}));
    assert!(why.starts_with("host r1: "), "{why}");
    let why = mcp.refused("show", json!({"host": "nowhere", "id": "deadbeef"}));
    assert!(why.contains("no remote named 'nowhere'"), "{why}");
    mcp.close(crate::support::mcp::ANSWER);
}
