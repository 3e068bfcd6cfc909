//! The `--json` contract from the consumer's side: the real output of the
//! binary, run against a fake agent replaying recorded transcripts, decoded
//! by the strict types in `contract/` (written from docs/json.md). A field
//! the binary adds, renames or drops without the documentation and these
//! types following fails here.

mod contract;
mod support;

use contract::*;
use std::collections::BTreeSet;
use support::fake::{transcript, World};

/// A codex turn with the two step types no recorded transcript has: a plan
/// (`todo_list`) and an item this version does not know.
const PLAN_AND_UNKNOWN: &str = r#"{"type":"thread.started","thread_id":"01a20a01-b2e1-7da0-bfea-d91e0cd6e19f"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"todo_list","items":[{"text":"read the parser","completed":true},{"text":"add the flag","completed":false}]}}
{"type":"item.completed","item":{"id":"item_1","type":"hologram","note":"from a newer codex"}}
{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":40,"cache_write_input_tokens":0,"output_tokens":21,"reasoning_output_tokens":0}}
"#;

/// A recorded transcript without its last line: a turn still under way.
fn unfinished(name: &str) -> String {
    let t = transcript(name);
    let mut lines: Vec<&str> = t.lines().collect();
    lines.pop();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Starts a session and waits for its first turn to end; its id.
fn finished(w: &World, args: &[&str]) -> String {
    let id = w.start(args);
    w.wait(&id);
    id
}

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
    let doc: SessionDoc = decode("start --json", &support::fake::stdout(&out));
    assert_eq!(doc.status, Status::Failed);
    assert_eq!(doc.ending, Some(Ending::AgentMissing));
    assert!(doc.error.as_deref().unwrap().contains("/nonexistent/codex"));
    assert!(support::fake::stderr(&out).starts_with("zwarm: error:"));
}

#[test]
fn inject_and_show_documents() {
    let w = World::new();
    w.agent
        .turn(1, transcript("claude_first_turn.jsonl"))
        .turn(2, transcript("claude_resume.jsonl"));
    let id = finished(&w, &["-a", "claude", "say hello"]);
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
    let ok = finished(&w, &["one"]);
    let bad = finished(&w, &["two"]);
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
    let id = finished(&w, &["rich"]);
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
    let id = finished(&w, &["task"]);
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
fn kill_and_rm_documents() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    w.agent.every_turn(&unfinished("codex_first_turn.jsonl"));
    w.agent.hang(1).hang(2).hang(3);
    let a = w.start(&["a"]);
    let b = w.start(&["b"]);
    let c = w.start(&["c"]);

    let (code, out) = w.json_any(&["kill", &a]);
    assert_eq!(code, 0, "{out}");
    let doc: ActionDoc = decode("kill --json", &out);
    assert_eq!(doc.schema_version, SCHEMA_VERSION);
    let r = &doc.results[0];
    assert_eq!(
        (r.id.as_str(), r.ok, r.status, &r.error),
        (a.as_str(), true, Some(Status::Killed), &None)
    );

    // One id failing does not stop the others; the worst code wins.
    // Ids may be given as prefixes; results name sessions by their full id.
    let (code, out) = w.json_any(&["kill", &a[..8], "deadbeef", &b[..6]]);
    assert_eq!(code, 3, "{out}");
    let doc: ActionDoc = decode("kill --json", &out);
    let oks: Vec<(bool, Option<Status>)> = doc.results.iter().map(|r| (r.ok, r.status)).collect();
    assert_eq!(
        oks,
        [(false, None), (false, None), (true, Some(Status::Killed))]
    );
    assert!(doc.results[0]
        .error
        .as_deref()
        .unwrap()
        .contains("not running"));
    let ids: Vec<&str> = doc.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [a.as_str(), "deadbeef", b.as_str()]);

    let (code, out) = w.json_any(&["rm", &c[..8]]);
    assert_eq!(code, 5, "running, so refused: {out}");
    let doc: ActionDoc = decode("rm --json", &out);
    assert!(!doc.results[0].ok && doc.results[0].error.is_some());
    assert_eq!(doc.results[0].id, c);

    let (code, out) = w.json_any(&["rm", "--force", &a, &c]);
    assert_eq!(code, 0, "{out}");
    let doc: ActionDoc = decode("rm --json", &out);
    assert!(doc.results.iter().all(|r| r.ok));
    assert_eq!(
        doc.results[1].status,
        Some(Status::Killed),
        "as it was removed"
    );

    let (code, out) = w.json_any(&["kill", "--all", "--delete"]);
    assert_eq!(code, 0, "{out}");
    let doc: ActionDoc = decode("kill --all --json", &out);
    assert!(doc.results.is_empty(), "b is already killed: {out}");
}

#[test]
fn wait_document() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_failed.jsonl"))
        .exit(2, 1);
    let ok = finished(&w, &["one"]);
    let bad = finished(&w, &["two"]);
    let (code, out) = w.json_any(&["wait", &ok, &bad]);
    assert_eq!(code, 4);
    let doc: WaitDoc = decode("wait --json", &out);
    assert_eq!((doc.schema_version, doc.timed_out), (SCHEMA_VERSION, false));
    let got: Vec<(&str, Status, Option<Ending>)> = doc
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s.status, s.ending))
        .collect();
    assert_eq!(
        got,
        [
            (ok.as_str(), Status::Completed, Some(Ending::Completed)),
            (bad.as_str(), Status::Failed, Some(Ending::Failed))
        ],
        "in the order asked for"
    );
    assert_eq!(doc.sessions[1].exit_code, Some(1));
}

#[test]
fn clean_document() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = finished(&w, &["old"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let dry: CleanDoc = decode(
        "clean --json",
        &w.json_any(&["clean", "--older-than", "10ms"]).1,
    );
    assert_eq!((dry.schema_version, dry.dry_run), (SCHEMA_VERSION, true));
    assert_eq!(dry.sessions.len(), 1);
    assert_eq!(dry.sessions[0].id, id);
    assert!(w.session_dir(&id).exists());

    let (code, out) = w.json_any(&["clean", "--older-than", "10ms", "--yes"]);
    assert_eq!(code, 0);
    let done: CleanDoc = decode("clean --yes --json", &out);
    assert!(!done.dry_run);
    assert_eq!(done.sessions[0].id, id);
    assert!(!w.session_dir(&id).exists());

    let none: CleanDoc = decode("clean --json", &w.json_any(&["clean"]).1);
    assert!(none.sessions.is_empty() && none.failed.is_empty());

    // A session folder that no rename can move (a mount point: bound onto
    // itself) cannot be removed.
    let stuck = finished(&w, &["stuck"]);
    let target = std::ffi::CString::new(w.session_dir(&stuck).to_str().unwrap()).unwrap();
    // SAFETY: a bind mount of a folder of this test onto itself.
    let bound = unsafe {
        libc::mount(
            target.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        bound,
        0,
        "this test needs to bind-mount a folder (root): {}",
        std::io::Error::last_os_error()
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (code, out) = w.json_any(&["clean", "--older-than", "10ms", "--yes"]);
    assert_eq!(code, 1);
    let failed: CleanDoc = decode("clean --yes --json", &out);
    assert!(failed.sessions.is_empty());
    assert_eq!(failed.failed.len(), 1);
    assert_eq!(failed.failed[0].id, stuck);
    assert!(w.session_dir(&stuck).exists());
    // SAFETY: unmounting the bind mount made above.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
}

#[test]
fn doctor_document() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let (code, out) = w.json_any(&["doctor"]);
    assert_eq!(code, 0);
    let clean: DoctorDoc = decode("doctor --json", &out);
    assert!(clean.healthy && !clean.fix && clean.problems.is_empty());

    // A session whose supervisor and agent both vanished: found, then settled.
    w.agent
        .turn(1, unfinished("codex_first_turn.jsonl"))
        .hang(1);
    let id = w.start(&["vanishes"]);
    w.agent.wait_hanging(1, std::time::Duration::from_secs(10));
    let meta = w.meta(&id);
    let sup = meta["turns"][0]["supervisor"]["pid"].as_i64().unwrap() as i32;
    unsafe {
        libc::kill(sup, libc::SIGKILL);
        libc::kill(w.agent.pid(1), libc::SIGKILL);
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (code, out) = w.json_any(&["doctor"]);
    assert_eq!(code, 1, "{out}");
    let found: DoctorDoc = decode("doctor --json", &out);
    assert!(!found.healthy);
    let stale = found
        .problems
        .iter()
        .find(|p| p.kind == "stale_running")
        .expect("the stale session is reported");
    assert_eq!(stale.session.as_deref(), Some(id.as_str()));
    assert!(!stale.fixed && stale.action.is_none());
    // Reporting changed nothing on disk.
    assert_eq!(w.meta(&id)["status"], "running");

    let (code, out) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 0, "{out}");
    let fixed: DoctorDoc = decode("doctor --fix --json", &out);
    assert!(fixed.healthy && fixed.fix);
    assert!(fixed.problems.iter().all(|p| p.fixed && p.action.is_some()));
    assert_ne!(w.meta(&id)["status"], "running");
}

#[test]
fn every_exit_code() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let code = |args: &[&str]| w.json_any(args);
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_failed.jsonl"))
        .exit(2, 1)
        .turn(3, unfinished("codex_first_turn.jsonl"))
        .hang(3);
    let ok = finished(&w, &["ok"]);
    let failed = finished(&w, &["fails"]);
    let running = w.start(&["hangs"]);

    assert_eq!(code(&["show", &ok]).0, 0);
    let bin = w
        .cmd(&["--json", "start", "x"])
        .env("ZWARM_CODEX_BIN", "/nonexistent/codex")
        .output()
        .unwrap();
    assert_eq!(bin.status.code(), Some(1), "the session it started failed");
    for usage in [
        &["show", "not-hex!"][..],
        &["show", ""],
        &["start", ""],
        &["list", "--no-such-flag"],
        &["wait", "--timeout", "soon", &ok],
    ] {
        let (c, out) = code(usage);
        assert_eq!(c, 2, "{usage:?}");
        assert!(out.is_empty(), "no document on a usage error: {out}");
    }
    let (c, out) = code(&["show", "deadbeef"]);
    assert_eq!((c, out.as_str()), (3, ""), "no such session, no document");
    assert_eq!(code(&["wait", &failed]).0, 4);
    assert_eq!(code(&["watch", &failed]).0, 4);
    let (c, out) = code(&["inject", &running, "more"]);
    assert_eq!((c, out.as_str()), (5, ""), "a turn is running");
    assert_eq!(code(&["rm", &running]).0, 5);
    let (c, out) = code(&["wait", "--timeout", "100ms", &running]);
    assert_eq!(c, 124);
    assert!(decode::<WaitDoc>("wait --timeout", &out).timed_out);
}

/// The consumer types are as strict as they claim: an extra or a missing
/// field fails to decode.
#[test]
fn the_consumer_types_reject_unknown_and_missing_fields() {
    let step = r#"{"type":"message","turn":1,"line":2,"text":"hi"}"#;
    serde_json::from_str::<Step>(step).expect("the step itself decodes");
    let extra = r#"{"type":"message","turn":1,"line":2,"text":"hi","mood":"ok"}"#;
    assert!(serde_json::from_str::<Step>(extra).is_err());
    let missing =
        r#"{"type":"command","turn":1,"line":2,"command":"ls","output":"","status":"completed"}"#;
    assert!(
        serde_json::from_str::<Step>(missing).is_err(),
        "a nullable field must still be present"
    );
    let doc = r#"{"schema_version":1,"results":[{"id":"a","ok":true,"status":null}]}"#;
    assert!(serde_json::from_str::<ActionDoc>(doc).is_err());
}

/// The examples in docs/json.md are documents of the shapes they illustrate.
#[test]
fn the_examples_in_docs_json_md_decode() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md");
    let text = std::fs::read_to_string(&path).expect("read docs/json.md");
    let mut section = String::new();
    let mut block: Option<(String, String)> = None;
    let mut seen = Vec::new();
    for line in text.lines() {
        if let Some((fence, body)) = block.as_mut() {
            if line == "```" {
                let (fence, body) = (std::mem::take(fence), std::mem::take(body));
                block = None;
                check_example(&section, &fence, &body);
                seen.push(section.clone());
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if let Some(fence) = line.strip_prefix("```") {
            block = Some((fence.to_string(), String::new()));
        } else if let Some(h) = line.strip_prefix("## ") {
            section = h.to_string();
        }
    }
    for s in [
        "start and inject",
        "list",
        "show",
        "kill and rm",
        "wait",
        "clean",
        "doctor",
        "trajectory",
        "watch",
        "Steps",
    ] {
        assert!(seen.iter().any(|x| x == s), "no example under `## {s}`");
    }
}

fn check_example(section: &str, fence: &str, body: &str) {
    let what = format!("docs/json.md, {section}");
    match (section, fence) {
        ("start and inject", "json") => {
            decode::<SessionDoc>(&what, body);
        }
        ("list", "json") => {
            decode::<ListDoc>(&what, body);
        }
        ("show", "json") => {
            decode::<ShowDoc>(&what, body);
        }
        ("kill and rm", "json") => {
            decode::<ActionDoc>(&what, body);
        }
        ("wait", "json") => {
            decode::<WaitDoc>(&what, body);
        }
        ("clean", "json") => {
            decode::<CleanDoc>(&what, body);
        }
        ("doctor", "json") => {
            decode::<DoctorDoc>(&what, body);
        }
        ("trajectory", "json") => {
            decode::<TrajectoryDoc>(&what, body);
        }
        ("watch", "") => {
            let lines: Vec<WatchLine> = body.lines().map(watch_line).collect();
            assert!(matches!(lines.last(), Some(WatchLine::End(_))), "{what}");
        }
        ("watch", "sh") => {}
        ("Steps", "") => {
            let kinds: BTreeSet<&str> = body
                .lines()
                .map(|l| decode::<Step>(&what, l).name())
                .collect();
            assert_eq!(kinds.len(), 10, "one of each step type: {kinds:?}");
        }
        _ => panic!("{what}: an example this test does not know (```{fence})"),
    }
}
