//! End to end: a codex, a claude, a gemini and a qwen session side by
//! side in one store, each run by its real CLI (installed by
//! `scripts/install-agents.sh`) against its own mock on 127.0.0.1. These
//! fail, never skip, without the CLIs.

use crate::support::e2e::{self, find_step};
use crate::support::mock_messages::{self, HELLO_COMMAND};
use crate::support::world::World;
use crate::support::{agents, mock_chat, mock_gemini, mock_responses};
use serde_json::Value;

#[test]
fn four_agents_side_by_side() {
    let claude_mock = mock_messages::MockServer::start();
    let codex_mock = mock_responses::MockServer::start();
    let gemini_mock = mock_gemini::MockServer::start();
    let qwen_mock = mock_chat::MockServer::start();
    // claude's last: its private HOME must be the one inside its own
    // config dir, so nothing outside it is touched. qwen reads its
    // settings and keeps its conversations under HOME, which is claude's
    // then: private all the same, given qwen's settings. gemini reads its
    // own home from GEMINI_CLI_HOME.
    let claude = e2e::claude(claude_mock.port());
    let home = std::path::PathBuf::from(claude.env.var("HOME").expect("claude's HOME"));
    std::fs::create_dir_all(home.join(".qwen")).unwrap();
    std::fs::write(home.join(".qwen/settings.json"), agents::QWEN_SETTINGS).unwrap();
    let w = World::with_agents(vec![
        e2e::codex(codex_mock.port()),
        e2e::gemini(gemini_mock.port()),
        e2e::qwen(qwen_mock.port()),
        claude,
    ]);
    let work = w.work.path().to_str().unwrap();
    let codex = w.start_with(Some("codex"), "say hi");
    let claude = w.start_with(Some("claude"), "say hi");
    let gemini = w
        .ok(&[
            "start",
            "-a",
            "gemini",
            "-m",
            "gemini-2.5-flash",
            "-C",
            work,
            "say hi",
        ])
        .trim()
        .to_string();
    let qwen = w.start_with(Some("qwen"), "say hi");
    let (code, cx) = w.wait_shown(&codex);
    assert_eq!(code, 0, "{cx:#}");
    let (code, cl) = w.wait_shown(&claude);
    assert_eq!(code, 0, "{cl:#}");
    let (code, gm) = w.wait_shown(&gemini);
    assert_eq!(code, 0, "{gm:#}");
    let (code, qw) = w.wait_shown(&qwen);
    assert_eq!(code, 0, "{qw:#}");
    assert_eq!(
        [
            &cx["adapter"],
            &cl["adapter"],
            &gm["adapter"],
            &qw["adapter"]
        ],
        ["codex", "claude", "gemini", "qwen"]
    );
    assert_eq!(w.meta(&codex)["adapter"], "codex");
    assert_eq!(w.meta(&claude)["adapter"], "claude_code");
    assert_eq!(w.meta(&gemini)["adapter"], "gemini");
    assert_eq!(w.meta(&qwen)["adapter"], "qwen");

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
    assert_eq!(adapter_of(&gemini), "gemini");
    assert_eq!(adapter_of(&qwen), "qwen");
    assert_eq!(list["sessions"].as_array().unwrap().len(), 4);

    // Each trajectory is read with its own agent's parser.
    for id in [&codex, &claude, &gemini, &qwen] {
        let traj = w.json(&["trajectory", id]);
        // Every mock scripts the same command (gemini's stream carries no
        // exit code, so only its command and output are compared).
        let commands = find_step(&traj, "command", 1);
        assert_eq!(commands.len(), 1, "{traj:#}");
        assert!(
            commands[0]["command"]
                .as_str()
                .is_some_and(|c| c.contains(HELLO_COMMAND)),
            "{traj:#}"
        );
        assert!(
            commands[0]["output"]
                .as_str()
                .is_some_and(|o| o.contains("hello-from-mock")),
            "{traj:#}"
        );
        let last = find_step(&traj, "message", 1).last().unwrap()["text"].clone();
        assert!(last.as_str().unwrap().starts_with("done:"), "{traj:#}");
    }
    // Only claude reports a cost.
    assert!(cx["cost_usd"].is_null(), "{cx:#}");
    assert!(cl["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(gm["cost_usd"].is_null(), "{gm:#}");
    assert!(qw["cost_usd"].is_null(), "{qw:#}");

    // Every conversation goes on, each with its own agent.
    w.inject(&codex, "SCN_SAY codex again");
    w.inject(&claude, "SCN_SAY claude again");
    w.inject(&gemini, "SCN_SAY gemini again");
    w.inject(&qwen, "SCN_SAY qwen again");
    for (id, answer, first) in [
        (&codex, "codex again", &cx),
        (&claude, "claude again", &cl),
        (&gemini, "gemini again", &gm),
        (&qwen, "qwen again", &qw),
    ] {
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
    assert!(gemini_mock
        .model_requests()
        .iter()
        .any(|r| mock_gemini::last_user_text(&r.body).contains("gemini again")));
    assert!(qwen_mock
        .model_requests()
        .iter()
        .any(|r| mock_chat::last_user_text(&r.body).contains("qwen again")));
    // Each mock heard only its own agent.
    assert!(!claude_mock
        .model_requests()
        .iter()
        .any(|r| mock_messages::last_user_text(&r.body).contains("codex again")));
    assert!(!qwen_mock
        .model_requests()
        .iter()
        .any(|r| mock_chat::last_user_text(&r.body).contains("gemini again")));
}
