//! Gemini CLI (`gemini --output-format=stream-json`): argv for first and
//! resumed turns, and its event stream (init, message, tool_use,
//! tool_result, error, result), read in `stream`, its tool calls turned into
//! steps in `tool`.

mod stream;
#[cfg(test)]
mod tests;
mod tool;

pub(crate) use stream::GeminiParser;

use super::agent_args::{CD, MODEL, OUTPUT, RESUME, SANDBOX, SESSION_ID, TASK};
use super::{is_uuid, long_opt, Agent, PromptVia, Reserved, TurnSpec};
use crate::model::{TurnRecord, Usage};
use std::ffi::OsString;

pub(crate) struct Gemini;

impl Agent for Gemini {
    fn program(&self) -> &'static str {
        "gemini"
    }
    fn bin_env(&self) -> &'static str {
        "ZWARM_GEMINI_BIN"
    }
    /// `--output-format=stream-json --skip-trust [--model=M]
    /// --approval-mode=MODE [AGENT_ARGS]`, then
    /// `--session-id=ID` for a first turn or `--resume=ID` for a later one,
    /// then `--prompt=PROMPT`, or nothing when the prompt is on stdin.
    fn args(&self, spec: &TurnSpec) -> Vec<OsString> {
        // Headless in a folder the user never trusted, gemini refuses to
        // start (exit 55) unless told to trust it for this run, as a person
        // who runs it there would: nobody can answer its question.
        let mut a: Vec<OsString> = ["--output-format=stream-json", "--skip-trust"]
            .map(OsString::from)
            .to_vec();
        if let Some(m) = spec.model.filter(|m| !m.is_empty()) {
            a.push(long_opt("--model", m));
        }
        // Headless, nobody answers a prompt for approval: a tool that would
        // need one is not offered to the model at all. `auto_edit` leaves
        // the shell out; `plan` is gemini's read-only mode. Without a
        // sandbox every tool runs, as claude's do.
        let mode = match spec.sandbox {
            Some("read-only") => "plan",
            Some("workspace-write") => "auto_edit",
            _ => "yolo",
        };
        a.push(long_opt("--approval-mode", mode));
        a.extend(spec.agent_args.iter().map(OsString::from));
        // A first turn pins the conversation to zwarm's own id, so it is
        // known before any output; `--resume` takes the id back.
        a.push(match spec.resume {
            Some(id) => long_opt("--resume", id),
            None => long_opt("--session-id", spec.session_id),
        });
        // Without `--prompt`, a stdin that is not a terminal is the prompt.
        // With both, gemini joins them: stdin must then be empty.
        if spec.prompt_via == PromptVia::Argument {
            a.push(long_opt("--prompt", spec.prompt));
        }
        a
    }

    fn reserved_options(&self) -> &'static [Reserved] {
        const R: &[Reserved] = &[
            Reserved::new("--output-format", Some("-o"), OUTPUT),
            Reserved::new("--acp", None, OUTPUT),
            Reserved::new("--experimental-acp", None, OUTPUT),
            Reserved::new("--model", Some("-m"), MODEL),
            Reserved::new("--approval-mode", None, SANDBOX),
            Reserved::new("--yolo", Some("-y"), SANDBOX),
            Reserved::new("--session-id", None, SESSION_ID),
            Reserved::new("--resume", Some("-r"), RESUME),
            Reserved::new("--session-file", None, RESUME),
            Reserved::new("--worktree", Some("-w"), CD),
            Reserved::new("--prompt", Some("-p"), TASK),
            Reserved::new("--prompt-interactive", Some("-i"), TASK),
        ];
        R
    }

    /// `--session-id` pins a UUID, and `--resume` also takes "latest" or
    /// an index, which must never come from a stored id.
    fn valid_conversation_id(&self, id: &str) -> bool {
        is_uuid(id)
    }

    /// `result.stats` covers one invocation, which is one turn, even when
    /// it resumes a conversation.
    fn turn_usage(&self, reported: &Usage, _s: Option<&str>, _earlier: &[TurnRecord]) -> Usage {
        reported.clone()
    }

    /// Gemini reports no cost.
    fn session_cost(&self, _reported: Option<f64>, _earlier: &[TurnRecord]) -> Option<f64> {
        None
    }
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
            max_budget_usd: Some(1.0),
            agent_args: &[],
        }
    }

    #[test]
    fn argv_for_first_and_resumed_turns_with_the_prompt_as_argument_or_on_stdin() {
        let head = [
            "--output-format=stream-json",
            "--skip-trust",
            "--model=m",
            "--approval-mode=yolo",
        ];
        let with = |tail: &[&str]| -> Vec<String> {
            head.iter().chain(tail).map(|a| a.to_string()).collect()
        };
        let first = format!("--session-id={PINNED}");
        let resume = format!("--resume={RESUMED}");
        assert_eq!(
            argv(&Gemini, &spec(None, PromptVia::Argument)),
            with(&[&first, "--prompt=-x"])
        );
        assert_eq!(
            argv(&Gemini, &spec(None, PromptVia::Stdin)),
            with(&[&first])
        );
        assert_eq!(
            argv(&Gemini, &spec(Some(RESUMED), PromptVia::Argument)),
            with(&[&resume, "--prompt=-x"])
        );
        assert_eq!(
            argv(&Gemini, &spec(Some(RESUMED), PromptVia::Stdin)),
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
            argv(&Gemini, &spec)[2].clone()
        };
        assert_eq!(mode(Some("read-only")), "--approval-mode=plan");
        assert_eq!(mode(Some("workspace-write")), "--approval-mode=auto_edit");
        assert_eq!(mode(Some("danger-full-access")), "--approval-mode=yolo");
        assert_eq!(mode(None), "--approval-mode=yolo");
        let hostile = TurnSpec {
            prompt: "--yolo",
            prompt_via: PromptVia::Argument,
            model: Some("--sandbox"),
            sandbox: Some("--yolo"),
            working_dir: std::path::Path::new("/w"),
            resume: Some("latest"),
            session_id: "-c",
            max_budget_usd: None,
            agent_args: &[],
        };
        assert_eq!(
            argv(&Gemini, &hostile),
            [
                "--output-format=stream-json",
                "--skip-trust",
                "--model=--sandbox",
                "--approval-mode=yolo",
                "--resume=latest",
                "--prompt=--yolo"
            ]
        );
    }

    #[test]
    fn conversation_ids_are_session_uuids() {
        let real = ids_in_transcripts("gemini_", "session_id");
        assert!(real.len() >= 5, "{real:?}");
        for id in &real {
            assert!(Gemini.valid_conversation_id(id), "{id}");
        }
        for id in NOT_CONVERSATION_IDS {
            assert!(!Gemini.valid_conversation_id(id), "{id:?}");
        }
        assert!(!Gemini.valid_conversation_id("latest"));
    }

    #[test]
    fn usage_is_per_invocation_and_there_is_no_cost() {
        let u = Usage {
            input_tokens: 3,
            total_tokens: 3,
            ..Default::default()
        };
        assert_eq!(Gemini.turn_usage(&u, None, &[]), u);
        assert_eq!(Gemini.session_cost(Some(1.0), &[]), None);
        assert!(!Gemini.reports_cost());
    }
}
