//! End to end: a codex session and a claude session side by side in one
//! store, each run by its real CLI (installed by
//! `scripts/install-agents.sh`) against its own mock on 127.0.0.1. These
//! fail, never skip, without the CLIs.

use crate::support::e2e::{self, find_step};
use crate::support::mock_messages::{self, HELLO_COMMAND};
use crate::support::mock_responses;
use crate::support::world::World;
use serde_json::Value;

#[test]
fn codex_and_claude_side_by_side() {
    let claude_mock = mock_messages::MockServer::start();
    let codex_mock = mock_responses::MockServer::start();
    // claude's last: its private HOME must be the one inside its own
    // config dir, so nothing outside it is touched.
    let w = World::with_agents(vec![
        e2e::codex(codex_mock.port()),
        e2e::claude(claude_mock.port()),
    ]);
    let codex = w.start_with(Some("codex"), "say hi");
    let claude = w.start_with(Some("claude"), "say hi");
    let (code, cx) = w.wait_shown(&codex);
    assert_eq!(code, 0, "{cx:#}");
    let (code, cl) = w.wait_shown(&claude);
    assert_eq!(code, 0, "{cl:#}");
    assert_eq!(
        (&cx["adapter"], &cl["adapter"]),
        (&"codex".into(), &"claude".into())
    );
    assert_eq!(w.meta(&codex)["adapter"], "codex");
    assert_eq!(w.meta(&claude)["adapter"], "claude_code");

    let list = w.json(&["list"]);
    let adapter_of = |id: &str| -> Value {
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {list:#}"))["adapter"]
            .clone()
    };
    assert_eq!(adapter_of(&codex), "codex");
    assert_eq!(adapter_of(&claude), "claude");
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);

    // Each trajectory is read with its own agent's parser.
    for id in [&codex, &claude] {
        let traj = w.json(&["trajectory", id]);
        // Both mocks script the same command.
        e2e::assert_ran_the_hello_command(&traj, HELLO_COMMAND);
        let last = find_step(&traj, "message", 1).last().unwrap()["text"].clone();
        assert!(last.as_str().unwrap().starts_with("done:"), "{traj:#}");
    }
    // codex reports no cost; claude does.
    assert!(cx["cost_usd"].is_null(), "{cx:#}");
    assert!(cl["cost_usd"].as_f64().unwrap() > 0.0);

    // Both conversations go on, each with its own agent.
    w.inject(&codex, "SCN_SAY codex again");
    w.inject(&claude, "SCN_SAY claude again");
    for (id, answer, first) in [(&codex, "codex again", &cx), (&claude, "claude again", &cl)] {
        let (code, s) = w.wait_shown(id);
        assert_eq!(code, 0, "{s:#}");
        assert_eq!(s["turns"], 2);
        assert_eq!(s["last_message"], answer);
        assert_eq!(s["agent_session_id"], first["agent_session_id"]);
        assert_eq!(
            s["turn_records"][1]["agent_session_id"],
            first["agent_session_id"]
        );
    }
    assert!(codex_mock
        .model_requests()
        .iter()
        .any(|r| mock_responses::last_user_text(&r.body).contains("codex again")));
    assert!(claude_mock
        .model_requests()
        .iter()
        .any(|r| mock_messages::last_user_text(&r.body).contains("claude again")));
    assert!(!claude_mock
        .model_requests()
        .iter()
        .any(|r| mock_messages::last_user_text(&r.body).contains("codex again")));
}
