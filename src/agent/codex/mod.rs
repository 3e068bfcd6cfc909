//! Codex CLI (`codex exec --json`): argv for first and resumed turns, and its
//! event stream (thread.*, turn.*, item.*, error): each line decoded in
//! `decode` into a `line` (an item's event by hand in `item_line`, other
//! lines with the items of `item`), applied in order in `stream`, the
//! account limits read by `limit`.

mod decode;
mod item;
mod item_line;
mod json_scan;
mod limit;
mod line;
mod stream;

pub(crate) use stream::CodexParser;

use super::agent_args::{CD, MODEL, OUTPUT, RESUME, SANDBOX};
use super::{is_uuid, long_opt, Agent, PromptVia, Reserved, TurnSpec};
use crate::model::{TurnRecord, Usage};
use std::ffi::OsString;

pub(crate) struct Codex;

impl Agent for Codex {
    fn program(&self) -> &'static str {
        "codex"
    }

    fn bin_env(&self) -> &'static str {
        "ZWARM_CODEX_BIN"
    }

    /// `exec --json --skip-git-repo-check [--model=M] --sandbox=S --cd=DIR
    /// [AGENT_ARGS]`, then `-- PROMPT` for a first turn or `resume -- THREAD
    /// PROMPT` for a later one, where PROMPT is `-` when the prompt is on stdin.
    fn args(&self, spec: &TurnSpec) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "exec".into(),
            "--json".into(),
            "--skip-git-repo-check".into(),
        ];
        if let Some(m) = spec.model.filter(|m| !m.is_empty()) {
            a.push(long_opt("--model", m));
        }
        // --sandbox and --cd belong to `exec`, so they go before `resume`.
        // Writes inside the working directory and nowhere else: what zwarm
        // 2.3.5 asked for with the since-removed `--full-auto`.
        let sandbox = spec
            .sandbox
            .filter(|s| !s.is_empty())
            .unwrap_or("workspace-write");
        a.push(long_opt("--sandbox", sandbox));
        a.push(long_opt("--cd", spec.working_dir));
        a.extend(spec.agent_args.iter().map(OsString::from));
        // Positionals only after `--`: the thread id, then the prompt.
        match spec.resume {
            Some(thread) => a.extend(["resume".into(), "--".into(), thread.into()]),
            None => a.push("--".into()),
        }
        a.push(match spec.prompt_via {
            PromptVia::Argument => spec.prompt.into(),
            // Read to EOF, whole, with no notice on stderr.
            PromptVia::Stdin => "-".into(),
        });
        a
    }

    fn reserved_options(&self) -> &'static [Reserved] {
        const R: &[Reserved] = &[
            Reserved::new("--json", None, OUTPUT),
            Reserved::new("--experimental-json", None, OUTPUT),
            Reserved::new("--skip-git-repo-check", None, OUTPUT),
            Reserved::new("--model", Some("-m"), MODEL),
            Reserved::new("--sandbox", Some("-s"), SANDBOX),
            Reserved::new("--full-auto", None, SANDBOX),
            Reserved::new("--dangerously-bypass-approvals-and-sandbox", None, SANDBOX),
            Reserved::new("--yolo", None, SANDBOX),
            Reserved::new("--cd", Some("-C"), CD),
            Reserved::new("resume", None, RESUME),
        ];
        R
    }

    /// Thread ids are UUIDs (version 7 in 0.169; any version passes).
    /// Anything else given to `resume` is looked up as a thread name, and a
    /// name that matches nothing silently starts a new thread.
    fn valid_conversation_id(&self, id: &str) -> bool {
        is_uuid(id)
    }

    /// `turn.completed.usage` is the thread's running total, so a turn's own
    /// usage is the difference from the previous report on the same thread.
    fn turn_usage(&self, reported: &Usage, thread: Option<&str>, earlier: &[TurnRecord]) -> Usage {
        let previous = earlier.iter().rev().find_map(|t| {
            let same = thread.is_some() && t.agent_session_id.as_deref() == thread;
            same.then_some(t.reported_usage.as_ref()).flatten()
        });
        match previous {
            Some(p) => reported.since(p),
            None => reported.clone(),
        }
    }

    fn session_cost(&self, _reported: Option<f64>, _earlier: &[TurnRecord]) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::test_support::{
        argv, cmd, ids_in_transcripts, msg, st, transcript, warn, NOT_CONVERSATION_IDS,
    };
    use crate::turn::{FileChange, ItemStatus, Outcome, Step, StepKind, TurnSummary};

    fn run(name: &str) -> (Vec<Step>, TurnSummary) {
        crate::agent::test_support::run_path(CodexParser::default(), &transcript(name))
    }

    fn run_bytes(bytes: &[u8]) -> (Vec<Step>, TurnSummary) {
        crate::agent::test_support::run_bytes(CodexParser::default(), bytes)
    }

    const METADATA_WARNING: &str =
        "Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.";

    fn usage(input: u64, cached: u64, output: u64, reasoning: u64) -> Option<Usage> {
        Some(Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output,
            cached_input_tokens: cached,
            reasoning_output_tokens: reasoning,
            ..Default::default()
        })
    }

    /// A command's output on a line of megabytes is kept where it lies in
    /// the line read whole, not copied out of it, on one thread and in
    /// chunks on several; the output is the same text either way.
    #[test]
    fn a_long_output_is_kept_in_its_line() {
        use crate::turn::lazy_text::LazyText;
        use crate::turn::{read_in_chunks, Output, TurnReader};
        let text = "a \"line\" of output\n".repeat(100_000);
        let event = serde_json::json!({
            "type": "item.completed",
            "item": {"id": "item_1", "type": "command_execution", "command": "yes",
                     "aggregated_output": text, "exit_code": 0, "status": "completed"}
        });
        let mut bytes = b"{\"type\":\"turn.started\"}\n".to_vec();
        bytes.extend_from_slice(event.to_string().as_bytes());
        bytes.extend_from_slice(b"\n{\"type\":\"turn.completed\"}\n");
        assert!(bytes.len() > 2 << 20);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("turn_1.jsonl");
        std::fs::write(&path, &bytes).unwrap();
        let output = |steps: Vec<Step>| {
            let kept = steps.into_iter().find_map(|s| match s.kind {
                StepKind::Command {
                    output: Output::Whole(t),
                    ..
                } => Some(t),
                _ => None,
            });
            kept.expect("the command's step")
        };
        let mut one = Vec::new();
        TurnReader::new(&path)
            .read(&mut CodexParser::default(), true, &mut |s| one.push(s))
            .unwrap();
        let mut many = Vec::new();
        let file = std::fs::File::open(&path).unwrap();
        read_in_chunks(
            file,
            &mut CodexParser::default(),
            true,
            2,
            64 << 10,
            &mut |s| many.push(s),
        )
        .unwrap();
        for kept in [output(one), output(many)] {
            assert!(matches!(kept, LazyText::InLine { .. }), "copied");
            assert_eq!(kept.to_str(), text);
            assert_eq!(
                serde_json::to_string(&kept).unwrap(),
                serde_json::to_string(&text).unwrap()
            );
            assert_eq!(kept.preview(1, 80).more, 99_999);
        }
    }

    #[test]
    fn first_turn_and_resumes() {
        let (steps, s) = run("codex_first_turn.jsonl");
        assert_eq!(
            steps,
            vec![
                warn(2, METADATA_WARNING),
                cmd(
                    4,
                    "/bin/bash -lc 'echo hello-from-mock'",
                    "hello-from-mock\n",
                    Some(0),
                    ItemStatus::Completed
                ),
                msg(6, "All done: mock says hi."),
            ]
        );
        assert_eq!(s.outcome, Some(Outcome::Completed));
        assert_eq!(
            s.agent_session_id.as_deref(),
            Some("01a209eb-9fe5-7091-945e-ca2ae2c25c85")
        );
        assert_eq!(s.usage, usage(200, 40, 14, 0));
        assert_eq!(s.messages, ["All done: mock says hi."]);
        assert_eq!((s.events, s.skipped_lines), (7, 0));

        let (_, r1) = run("codex_resume.jsonl");
        let (_, r2) = run("codex_resume_2.jsonl");
        assert_eq!(r1.agent_session_id, s.agent_session_id);
        assert_eq!(r2.agent_session_id, s.agent_session_id);
        assert_eq!(r1.usage.as_ref().unwrap().input_tokens, 300);
        assert_eq!(r2.usage.as_ref().unwrap().input_tokens, 400);
    }

    #[test]
    fn usage_is_the_threads_running_total() {
        let rec = |n: u32, input: u64, thread: &str| {
            let mut r = TurnRecord::open(n, None);
            r.agent_session_id = Some(thread.into());
            r.reported_usage = usage(input, 0, 7 * u64::from(n), 0);
            r
        };
        let earlier = vec![rec(1, 200, "t1"), rec(2, 300, "t1")];
        let own = Codex.turn_usage(&usage(400, 0, 21, 0).unwrap(), Some("t1"), &earlier);
        assert_eq!((own.input_tokens, own.output_tokens), (100, 7));
        // A new thread starts its own total.
        let own = Codex.turn_usage(&usage(50, 0, 5, 0).unwrap(), Some("t2"), &earlier);
        assert_eq!(own.input_tokens, 50);
    }

    #[test]
    fn rich_turn_keeps_every_item() {
        let (steps, s) = run("codex_rich.jsonl");
        assert_eq!(
            steps,
            vec![
                warn(2, METADATA_WARNING),
                st(
                    4,
                    StepKind::Reasoning {
                        text: "**Planning** I will run a failing command first.".into()
                    }
                ),
                cmd(
                    5,
                    "/bin/bash -lc 'ls /nonexistent_dir_xyz'",
                    "ls: cannot access '/nonexistent_dir_xyz': No such file or directory\n",
                    Some(2),
                    ItemStatus::Failed
                ),
                cmd(7, "/bin/bash -lc true", "", Some(0), ItemStatus::Completed),
                st(
                    9,
                    StepKind::FileChange {
                        changes: vec![FileChange {
                            path: "/home/dev/project/added.txt".into(),
                            kind: "add".into()
                        }],
                        status: ItemStatus::Completed,
                    }
                ),
                cmd(
                    11,
                    "/bin/bash -lc 'echo no-apply-patch-tool'",
                    "no-apply-patch-tool\n",
                    Some(0),
                    ItemStatus::Completed
                ),
                // The item carries `id` twice; the first one is the item's.
                st(
                    13,
                    StepKind::WebSearch {
                        query: "rust serde tagged enums".into(),
                        status: ItemStatus::Completed
                    }
                ),
                msg(15, "Rich scenario finished."),
            ]
        );
        assert_eq!(s.usage, usage(500, 100, 35, 15));
        assert_eq!(s.skipped_lines, 0);
    }

    #[test]
    fn duplicate_id_keeps_the_first_and_the_raw_one() {
        let line =
            br#"{"type":"item.completed","item":{"id":"item_9","type":"weird","id":"ws_2"}}"#;
        let (steps, _) = run_bytes(line);
        match &steps[0].kind {
            StepKind::Other { kind, raw } => {
                assert_eq!(kind, "item:weird");
                assert_eq!(raw["id"], "item_9");
                assert_eq!(raw["raw_id"], "ws_2");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mcp_calls_and_file_changes() {
        let (steps, _) = run("codex_mcp.jsonl");
        let calls: Vec<_> = steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::ToolCall {
                    server,
                    tool,
                    result,
                    error,
                    status,
                    ..
                } => Some((
                    server.clone(),
                    tool.clone(),
                    result.clone(),
                    error.clone(),
                    *status,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                (
                    Some("echo".into()),
                    "echo".into(),
                    Some("echo: hi mcp".into()),
                    None,
                    ItemStatus::Completed
                ),
                (
                    Some("echo".into()),
                    "boom".into(),
                    Some("boom failed".into()),
                    None,
                    ItemStatus::Failed
                ),
            ]
        );
        let (steps, _) = run("codex_file_changes.jsonl");
        let kinds: Vec<String> = steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::FileChange { changes, .. } => Some(changes[0].kind.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["add", "update", "delete"]);
    }

    #[test]
    fn failures_retries_and_interruptions() {
        let (steps, s) = run("codex_failed_after_retries.jsonl");
        let high_demand =
            "We’re currently experiencing high demand, which may cause temporary errors.";
        assert_eq!(
            steps,
            vec![
                warn(2, METADATA_WARNING),
                warn(4, &format!("Reconnecting... 1/2 ({high_demand})")),
                warn(5, &format!("Reconnecting... 2/2 ({high_demand})")),
                st(
                    6,
                    StepKind::Error {
                        message: high_demand.into()
                    }
                ),
            ]
        );
        assert_eq!(s.outcome, Some(Outcome::Failed(high_demand.into())));
        assert_eq!(s.usage, None);

        for name in ["codex_failed.jsonl", "codex_failed_context_window.jsonl"] {
            let (_, s) = run(name);
            assert!(
                matches!(s.outcome, Some(Outcome::Failed(ref m)) if !m.is_empty()),
                "{name}"
            );
        }

        // SIGINT: no terminal line; the running command is kept, unfinished.
        let (steps, s) = run("codex_sigint.jsonl");
        assert_eq!(s.outcome, None);
        assert!(matches!(
            steps.last().unwrap().kind,
            StepKind::Command {
                status: ItemStatus::InProgress,
                exit_code: None,
                ..
            }
        ));

        // Endless reconnects: a turn that is not progressing.
        let (_, s) = run("codex_connection_refused_then_sigterm.jsonl");
        assert_eq!(s.outcome, None);
        assert!(
            s.retries_since_progress >= 10,
            "{}",
            s.retries_since_progress
        );
        assert!(s.last_retry.unwrap().contains("waiting for network"));
    }

    #[test]
    fn stray_lines_are_counted_never_fatal() {
        let mut bytes = std::fs::read(transcript("codex_first_turn.jsonl")).unwrap();
        let (clean, _) = run_bytes(&bytes);
        bytes.splice(
            0..0,
            b"Reading additional input from stdin...\n\xff\xfe not json\n"
                .iter()
                .copied(),
        );
        bytes.extend_from_slice(b"{\"type\":\"item.completed\",\"item\":{\"id\":\"item_9\""); // torn
        let (steps, s) = run_bytes(&bytes);
        assert_eq!(s.skipped_lines, 3);
        assert_eq!(steps.len(), clean.len());
        assert_eq!(s.outcome, Some(Outcome::Completed));
        // Unknown events and odd shapes become `other`, in place.
        let (steps, s) = run_bytes(
            b"{\"type\":\"turn.progress\",\"x\":1}\n[1,2]\n{\"no_type\":true}\n\"str\"\n",
        );
        assert_eq!(steps.len(), 4);
        assert!(steps.iter().all(|s| s.kind.name() == "other"));
        assert_eq!(s.skipped_lines, 0);
    }

    const THREAD: &str = "01a209eb-9fe5-7091-945e-ca2ae2c25c85";

    fn spec<'a>(resume: Option<&'a str>, prompt_via: PromptVia) -> TurnSpec<'a> {
        TurnSpec {
            prompt: "-dash task",
            prompt_via,
            model: Some("gpt-5"),
            sandbox: Some("workspace-write"),
            working_dir: std::path::Path::new("/w"),
            resume,
            session_id: "z",
            max_budget_usd: None,
            agent_args: &[],
        }
    }

    #[test]
    fn argv_for_first_and_resumed_turns_with_the_prompt_as_argument_or_on_stdin() {
        let head = [
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--model=gpt-5",
            "--sandbox=workspace-write",
            "--cd=/w",
        ];
        let with = |tail: &[&str]| -> Vec<String> {
            head.iter().chain(tail).map(|a| a.to_string()).collect()
        };
        assert_eq!(
            argv(&Codex, &spec(None, PromptVia::Argument)),
            with(&["--", "-dash task"])
        );
        assert_eq!(
            argv(&Codex, &spec(None, PromptVia::Stdin)),
            with(&["--", "-"])
        );
        assert_eq!(
            argv(&Codex, &spec(Some(THREAD), PromptVia::Argument)),
            with(&["resume", "--", THREAD, "-dash task"])
        );
        assert_eq!(
            argv(&Codex, &spec(Some(THREAD), PromptVia::Stdin)),
            with(&["resume", "--", THREAD, "-"])
        );
    }

    #[test]
    fn argv_defaults_and_values_that_look_like_options() {
        // No model: codex's own; no sandbox: workspace-write.
        let plain = TurnSpec {
            model: Some(""),
            sandbox: None,
            ..spec(None, PromptVia::Argument)
        };
        assert_eq!(
            argv(&Codex, &plain),
            [
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--sandbox=workspace-write",
                "--cd=/w",
                "--",
                "-dash task"
            ]
        );
        // Every value stays inside its own option or after `--`.
        let hostile = TurnSpec {
            prompt: "--yolo",
            prompt_via: PromptVia::Argument,
            model: Some("-c=model=\"evil\""),
            sandbox: Some("--dangerously-bypass-approvals-and-sandbox"),
            working_dir: std::path::Path::new("--yolo"),
            resume: Some("-c=x"),
            session_id: "z",
            max_budget_usd: None,
            agent_args: &[],
        };
        assert_eq!(
            argv(&Codex, &hostile),
            [
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--model=-c=model=\"evil\"",
                "--sandbox=--dangerously-bypass-approvals-and-sandbox",
                "--cd=--yolo",
                "resume",
                "--",
                "-c=x",
                "--yolo"
            ]
        );
        // A directory that is not UTF-8 is passed as it is.
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"/w/\xff");
        let args = Codex.args(&TurnSpec {
            working_dir: std::path::Path::new(odd),
            ..spec(None, PromptVia::Stdin)
        });
        assert_eq!(args[5].as_bytes(), b"--cd=/w/\xff");
    }

    #[test]
    fn conversation_ids_are_thread_uuids() {
        let real = ids_in_transcripts("codex_", "thread_id");
        assert!(real.len() >= 10, "{real:?}");
        for id in &real {
            assert!(Codex.valid_conversation_id(id), "{id}");
        }
        for id in NOT_CONVERSATION_IDS {
            assert!(!Codex.valid_conversation_id(id), "{id:?}");
        }
    }
}
