//! The `--json` contract from the consumer's side, for the documents about
//! sessions (`start`, `inject`, `show`, `list`, `trajectory`, `watch`): the
//! real output of the binary, run against a fake agent replaying recorded
//! transcripts, decoded by the strict types of `support/contract.rs`
//! (written from docs/json.md). A field the binary adds, renames or drops
//! without the documentation and these types following fails here.

use crate::support::contract::*;
use crate::support::fake::transcript;
use crate::support::output::{stderr, stdout};
use crate::support::world::World;
use std::collections::BTreeSet;

/// A codex turn with the two step types no recorded transcript has: a plan
/// (`todo_list`) and an item this version does not know.
const PLAN_AND_UNKNOWN: &str = r#"{"type":"thread.started","thread_id":"01a20a01-b2e1-7da0-bfea-d91e0cd6e19f"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"todo_list","items":[{"text":"read the parser","completed":true},{"text":"add the flag","completed":false}]}}
{"type":"item.completed","item":{"id":"item_1","type":"hologram","note":"from a newer codex"}}
{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":40,"cache_write_input_tokens":0,"output_tokens":21,"reasoning_output_tokens":0}}
"#;

#[test]
fn start_prints_the_session_document() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let (code, out) = w.json_any(&["start", "-m", "gpt-5.5", "add a --verbose flag"]);
    assert_eq!(code, 0, "{out}");
    let doc: SessionDoc = decode("start --json", &out);
    assert_eq!(doc.schema_version, SCHEMA_VERSION);
    assert_eq!(doc.id.len(), 36);
    assert!(doc.id.starts_with(&doc.short_id));
    assert!(
        matches!(doc.status, Status::Running | Status::Completed),
        "{out}"
    );
    assert_eq!(
        (doc.adapter.as_str(), doc.model.as_str()),
        ("codex", "gpt-5.5")
    );
    assert_eq!(doc.task, "add a --verbose flag");
    assert_eq!(doc.source, "user");
    assert_eq!(doc.turns, 1);
    assert!(doc.pid.is_some(), "the supervisor's pid: {out}");
}

#[test]
fn start_that_cannot_launch_prints_the_failed_session_and_exits_1() {
    let w = World::new();
    let out = w
        .cmd(&["--json", "start", "anything"])
        .env("ZWARM_CODEX_BIN", "/nonexistent/codex")
        .output()
        .expect("run zwarm");
    assert_eq!(out.status.code(), Some(1));
    let doc: SessionDoc = decode("start --json", &stdout(&out));
    assert_eq!(doc.status, Status::Failed);
    assert_eq!(doc.ending, Some(Ending::AgentMissing));
    assert!(doc.error.as_deref().unwrap().contains("/nonexistent/codex"));
    assert!(stderr(&out).starts_with("zwarm: error:"));
}

#[test]
fn inject_and_show_documents() {
    let w = World::new();
    w.agent
        .turn(1, transcript("claude_first_turn.jsonl"))
        .turn(2, transcript("claude_resume.jsonl"));
    let id = w.start_and_wait(&["-a", "claude", "say hello"]);
    let (code, out) = w.json_any(&["inject", &id[..8], "again"]);
    assert_eq!(code, 0, "{out}");
    let doc: SessionDoc = decode("inject --json", &out);
    assert_eq!((doc.schema_version, doc.turns), (SCHEMA_VERSION, 2));
    assert_eq!(doc.adapter, "claude");
    assert_eq!(w.wait(&id), 0);

    let show: ShowDoc = decode("show --json", &w.json_any(&["show", &id]).1);
    assert_eq!(show.schema_version, SCHEMA_VERSION);
    assert_eq!(
        (show.status, show.ending),
        (Status::Completed, Some(Ending::Completed))
    );
    assert_eq!(show.turn_records.len(), 2);
    let last = &show.turn_records[1];
    assert_eq!(
        (last.turn, last.ending, last.exit_code),
        (2, Some(Ending::Completed), Some(0))
    );
    assert!(last.usage.is_some() && last.final_message.is_some());
    assert!(
        show.cost_usd.is_some_and(|c| c > 0.0),
        "claude reports cost"
    );
    let roles: Vec<(&str, Option<u64>)> = show
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.turn))
        .collect();
    assert_eq!(
        roles,
        [
            ("user", Some(1)),
            ("assistant", Some(1)),
            ("user", Some(2)),
            ("assistant", Some(2))
        ]
    );
    assert_eq!(
        show.last_message.as_deref(),
        Some(show.messages[3].content.as_str())
    );
}

#[test]
fn list_document_with_a_problem() {
    let w = World::new();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    w.agent.turn(2, transcript("codex_failed.jsonl")).exit(2, 1);
    let ok = w.start_and_wait(&["one"]);
    let bad = w.start_and_wait(&["two"]);
    let broken = w
        .state
        .path()
        .join("sessions/00000000-0000-4000-8000-000000000000");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("meta.json"), "{ not json").unwrap();

    let list: ListDoc = decode("list --json", &w.json_any(&["list"]).1);
    assert_eq!(list.schema_version, SCHEMA_VERSION);
    let got: Vec<(&str, Status)> = list
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s.status))
        .collect();
    assert_eq!(
        got,
        [
            (bad.as_str(), Status::Failed),
            (ok.as_str(), Status::Completed)
        ],
        "newest first"
    );
    assert!(list.sessions[0].error.is_some());
    assert_eq!(list.problems.len(), 1);
    assert_eq!(list.problems[0].id, "00000000-0000-4000-8000-000000000000");

    let only: ListDoc = decode(
        "list --status",
        &w.json_any(&["ls", "--status", "completed"]).1,
    );
    assert_eq!(only.sessions.len(), 1);
    assert_eq!(only.sessions[0].id, ok);
}

#[test]
fn trajectory_document_has_every_step_type() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_rich.jsonl"))
        .turn(2, transcript("codex_mcp.jsonl"))
        .turn(3, PLAN_AND_UNKNOWN)
        .turn(4, transcript("codex_failed.jsonl"))
        .exit(4, 1);
    let id = w.start_and_wait(&["rich"]);
    for (n, msg) in ["mcp", "plan", "fail"].iter().enumerate() {
        w.ok(&["inject", &id, msg]);
        assert_eq!(w.wait(&id), if n == 2 { 4 } else { 0 });
    }
    let (code, out) = w.json_any(&["trajectory", &id]);
    assert_eq!(code, 0);
    let doc: TrajectoryDoc = decode("trajectory --json", &out);
    assert_eq!(
        (doc.schema_version, doc.session.as_str()),
        (SCHEMA_VERSION, id.as_str())
    );
    let kinds: BTreeSet<&str> = doc.steps.iter().map(Step::name).collect();
    let all = [
        "command",
        "error",
        "file_change",
        "message",
        "other",
        "plan",
        "reasoning",
        "tool_call",
        "warning",
        "web_search",
    ];
    assert_eq!(kinds, all.into_iter().collect());
    let turns: BTreeSet<u32> = doc.steps.iter().map(Step::turn).collect();
    assert_eq!(turns, [1, 2, 3, 4].into_iter().collect());

    let one: TrajectoryDoc = decode(
        "trajectory --turn",
        &w.json_any(&["traj", "--turn", "3", &id]).1,
    );
    let names: Vec<&str> = one.steps.iter().map(Step::name).collect();
    assert_eq!(names, ["plan", "other"]);
    match &one.steps[0] {
        Step::Plan { items, line, .. } => {
            assert_eq!(*line, 3);
            assert_eq!(
                (items[0].status.as_str(), items[1].status.as_str()),
                ("completed", "pending")
            );
        }
        s => panic!("{s:?}"),
    }
    match &one.steps[1] {
        Step::Other { event, raw, .. } => {
            assert_eq!(event, "item:hologram");
            assert_eq!(raw["note"], "from a newer codex");
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn watch_of_a_finished_session_is_ndjson_ending_in_an_end_line() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start_and_wait(&["task"]);
    let (code, out) = w.json_any(&["watch", &id]);
    assert_eq!(code, 0);
    let lines: Vec<WatchLine> = out.lines().map(watch_line).collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| match l {
            WatchLine::Step(s) => s.name(),
            WatchLine::End(_) => "end",
        })
        .collect();
    assert_eq!(names, ["warning", "command", "message", "end"]);
    let WatchLine::End(end) = &lines[3] else {
        unreachable!()
    };
    assert_eq!(
        (
            end.turn,
            end.session.as_str(),
            end.status,
            end.ending,
            end.exit_code
        ),
        (
            1,
            id.as_str(),
            Status::Completed,
            Ending::Completed,
            Some(0)
        )
    );
}

#[test]
fn a_rate_limited_session_documents_when_its_limit_lifts() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_usage_limit_next_day.jsonl"))
        .exit(1, 1);
    let id = w.start_and_wait(&["task"]);
    let reset = Some("2026-12-04T17:00:00.000000");

    let show: ShowDoc = decode("show --json", &w.json_any(&["show", &id]).1);
    assert_eq!(
        (show.status, show.ending, show.resets_at.as_deref()),
        (Status::Failed, Some(Ending::RateLimited), reset)
    );
    let turn = &show.turn_records[0];
    assert_eq!(
        (turn.ending, turn.resets_at.as_deref()),
        (Some(Ending::RateLimited), reset)
    );
    let list: ListDoc = decode("list --json", &w.json_any(&["list"]).1);
    assert_eq!(list.sessions[0].resets_at.as_deref(), reset);
    let (code, out) = w.json_any(&["wait", &id]);
    assert_eq!(code, 4);
    let wait: WaitDoc = decode("wait --json", &out);
    assert_eq!(wait.sessions[0].ending, Some(Ending::RateLimited));
    assert_eq!(wait.sessions[0].resets_at.as_deref(), reset);
    let (code, out) = w.json_any(&["watch", &id]);
    assert_eq!(code, 4);
    let Some(WatchLine::End(end)) = out.lines().map(watch_line).next_back() else {
        panic!("no end line: {out}")
    };
    assert_eq!(
        (end.ending, end.resets_at.as_deref()),
        (Ending::RateLimited, reset)
    );
}
