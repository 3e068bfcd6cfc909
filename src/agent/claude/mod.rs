//! Claude Code (`claude -p --output-format stream-json --verbose`): argv for
//! first and resumed turns, and its message stream (system, assistant, user,
//! result, stream_event), read in `stream`, its tool uses turned into steps
//! in `tool`, its account limits recognised in `limit`.

mod decode;
mod limit;
mod meter;
mod stream;
#[cfg(test)]
mod tests;
pub(crate) mod tool;

pub(crate) use stream::ClaudeParser;

use super::agent_args::{MAX_COST, MODEL, OUTPUT, RESUME, SANDBOX, SESSION_ID};
use super::{is_uuid, long_opt, Agent, PromptVia, Reserved, TurnSpec, UsageMeter};
use crate::model::{TurnRecord, Usage};
use serde_json::Value;
use std::ffi::OsString;

pub(crate) struct Claude;

impl Agent for Claude {
    fn program(&self) -> &'static str {
        "claude"
    }
    fn bin_env(&self) -> &'static str {
        "ZWARM_CLAUDE_BIN"
    }
    /// `-p --output-format=stream-json --verbose [--model=M]
    /// --permission-mode=MODE [--max-budget-usd=USD] [AGENT_ARGS]`, then `--session-id=ID` for a first turn or
    /// `--resume=ID` for a later one, then `-- PROMPT`, or nothing when the
    /// prompt is on stdin.
    fn args(&self, spec: &TurnSpec) -> Vec<OsString> {
        // stream-json in print mode is refused without --verbose.
        let mut a: Vec<OsString> = ["-p", "--output-format=stream-json", "--verbose"]
            .map(OsString::from)
            .to_vec();
        if let Some(m) = spec.model.filter(|m| !m.is_empty()) {
            a.push(long_opt("--model", m));
        }
        // Nobody can answer a permission prompt in a detached run. zwarm's
        // sandbox words map onto claude's permission modes; without one, tools
        // are allowed, as zwarm 2.3.5 ran it.
        let mode = match spec.sandbox {
            Some("read-only") => "plan",
            Some("workspace-write") => "acceptEdits",
            _ => "bypassPermissions",
        };
        a.push(long_opt("--permission-mode", mode));
        // Claude counts this budget over this invocation only, not over the
        // conversation it resumes: it is given what is left of the session's.
        if let Some(usd) = spec.max_budget_usd {
            a.push(long_opt("--max-budget-usd", usd.to_string()));
        }
        a.extend(spec.agent_args.iter().map(OsString::from));
        // Pinning the id on a first turn means zwarm knows it before any
        // output. `--resume` takes an optional value: only the `=` form keeps
        // an id that starts with `-` from being read as the next option.
        a.push(match spec.resume {
            Some(id) => long_opt("--resume", id),
            None => long_opt("--session-id", spec.session_id),
        });
        // With no prompt argument, print mode reads the prompt from stdin.
        if spec.prompt_via == PromptVia::Argument {
            // Variadic flags (--mcp-config, --allowedTools, ...) would
            // swallow a bare prompt.
            a.extend(["--".into(), spec.prompt.into()]);
        }
        a
    }

    fn reserved_options(&self) -> &'static [Reserved] {
        const R: &[Reserved] = &[
            Reserved::new("--print", Some("-p"), OUTPUT),
            Reserved::new("--output-format", None, OUTPUT),
            Reserved::new("--input-format", None, OUTPUT),
            Reserved::new("--verbose", None, OUTPUT),
            Reserved::new("--model", None, MODEL),
            Reserved::new("--permission-mode", None, SANDBOX),
            Reserved::new("--dangerously-skip-permissions", None, SANDBOX),
            Reserved::new("--allow-dangerously-skip-permissions", None, SANDBOX),
            Reserved::new("--max-budget-usd", None, MAX_COST),
            Reserved::new("--session-id", None, SESSION_ID),
            Reserved::new("--resume", Some("-r"), RESUME),
            Reserved::new("--continue", Some("-c"), RESUME),
            Reserved::new("--fork-session", None, RESUME),
        ];
        R
    }

    /// Session ids are UUIDs, the only form `--session-id` accepts.
    /// `--resume` would also take a session title.
    fn valid_conversation_id(&self, id: &str) -> bool {
        is_uuid(id)
    }

    /// `result.usage` covers one invocation, which is one turn.
    fn turn_usage(&self, reported: &Usage, _s: Option<&str>, _earlier: &[TurnRecord]) -> Usage {
        reported.clone()
    }
    /// `total_cost_usd` is cumulative for the claude session, so the latest
    /// report is the session's cost. It never shrinks, but a turn that failed
    /// to start (resume not found) reports 0, which must not wipe the total.
    fn session_cost(&self, reported: Option<f64>, earlier: &[TurnRecord]) -> Option<f64> {
        let before = earlier.iter().rev().find_map(|t| t.reported_cost_usd);
        match (reported, before) {
            (Some(r), Some(b)) => Some(r.max(b)),
            (r, b) => r.or(b),
        }
    }

    fn reports_cost(&self) -> bool {
        true
    }

    /// Each response's usage is in the stream as it arrives.
    fn usage_meter(&self) -> Option<Box<dyn UsageMeter>> {
        Some(Box::<meter::ClaudeMeter>::default())
    }
}

/// Moves a value out without `IndexMut`, which panics on non-objects.
pub(crate) fn take(v: &mut Value, pointer: &str) -> Value {
    v.pointer_mut(pointer).map(Value::take).unwrap_or_default()
}

#[cfg(test)]
mod adapter_tests {
    use super::*;
    use crate::agent::test_support::{argv, ids_in_transcripts, NOT_CONVERSATION_IDS};

    const PINNED: &str = "52afcdf0-2eae-495a-b1bf-ee9cec877555";
    const RESUMED: &str = "0eca613e-1170-4972-903b-118a5e093f7c";

    fn spec<'a>(resume: Option<&'a str>, prompt_via: PromptVia) -> TurnSpec<'a> {
        TurnSpec {
            prompt: "-x",
            prompt_via,
            model: Some("m"),
            sandbox: None,
            working_dir: std::path::Path::new("/w"),
            resume,
            session_id: PINNED,
            max_budget_usd: None,
            agent_args: &[],
        }
    }

    #[test]
    fn argv_for_first_and_resumed_turns_with_the_prompt_as_argument_or_on_stdin() {
        let head = [
            "-p",
            "--output-format=stream-json",
            "--verbose",
            "--model=m",
            "--permission-mode=bypassPermissions",
        ];
        let with = |tail: &[&str]| -> Vec<String> {
            head.iter().chain(tail).map(|a| a.to_string()).collect()
        };
        let first = format!("--session-id={PINNED}");
        let resume = format!("--resume={RESUMED}");
        assert_eq!(
            argv(&Claude, &spec(None, PromptVia::Argument)),
            with(&[&first, "--", "-x"])
        );
        assert_eq!(
            argv(&Claude, &spec(None, PromptVia::Stdin)),
            with(&[&first])
        );
        assert_eq!(
            argv(&Claude, &spec(Some(RESUMED), PromptVia::Argument)),
            with(&[&resume, "--", "-x"])
        );
        assert_eq!(
            argv(&Claude, &spec(Some(RESUMED), PromptVia::Stdin)),
            with(&[&resume])
        );
    }

    #[test]
    fn argv_modes_and_values_that_look_like_options() {
        let mode = |sandbox: Option<&str>| {
            let spec = TurnSpec {
                sandbox,
                model: None,
                ..spec(None, PromptVia::Stdin)
            };
            argv(&Claude, &spec)[3].clone()
        };
        assert_eq!(mode(Some("read-only")), "--permission-mode=plan");
        assert_eq!(
            mode(Some("workspace-write")),
            "--permission-mode=acceptEdits"
        );
        assert_eq!(
            mode(Some("danger-full-access")),
            "--permission-mode=bypassPermissions"
        );
        assert_eq!(mode(None), "--permission-mode=bypassPermissions");
        // Every value stays inside its own option or after `--`.
        let hostile = TurnSpec {
            prompt: "--mcp-config",
            prompt_via: PromptVia::Argument,
            model: Some("--dangerously-skip-permissions"),
            sandbox: Some("--yolo"),
            working_dir: std::path::Path::new("/w"),
            resume: Some("--fork-session"),
            session_id: "-c",
            max_budget_usd: None,
            agent_args: &[],
        };
        assert_eq!(
            argv(&Claude, &hostile),
            [
                "-p",
                "--output-format=stream-json",
                "--verbose",
                "--model=--dangerously-skip-permissions",
                "--permission-mode=bypassPermissions",
                "--resume=--fork-session",
                "--",
                "--mcp-config"
            ]
        );
        let first = TurnSpec {
            resume: None,
            prompt_via: PromptVia::Stdin,
            ..hostile
        };
        assert_eq!(argv(&Claude, &first)[5], "--session-id=-c");
    }

    #[test]
    fn argv_gives_claude_what_is_left_of_the_cost_budget() {
        let spec = TurnSpec {
            max_budget_usd: Some(0.0095936),
            ..spec(Some(RESUMED), PromptVia::Stdin)
        };
        let a = argv(&Claude, &spec);
        assert_eq!(a[5], "--max-budget-usd=0.0095936");
        assert_eq!(a[6], format!("--resume={RESUMED}"));
        // Codex has no such flag: its argv is the same with or without.
        let codex = |usd| {
            crate::agent::codex::Codex.args(&TurnSpec {
                max_budget_usd: usd,
                ..spec.clone()
            })
        };
        assert_eq!(codex(Some(1.0)), codex(None));
    }

    #[test]
    fn conversation_ids_are_session_uuids() {
        let real = ids_in_transcripts("claude_", "session_id");
        assert!(real.len() >= 10, "{real:?}");
        for id in &real {
            assert!(Claude.valid_conversation_id(id), "{id}");
        }
        for id in NOT_CONVERSATION_IDS {
            assert!(!Claude.valid_conversation_id(id), "{id:?}");
        }
    }

    #[test]
    fn session_cost_is_the_latest_report() {
        assert_eq!(
            (
                Claude.session_cost(Some(0.5), &[]),
                Claude.session_cost(None, &[])
            ),
            (Some(0.5), None)
        );
    }
}
