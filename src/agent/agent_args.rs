//! `--agent-arg`: options given to the agent as they are, for what zwarm
//! does not model, and the check that none of them is one zwarm sets itself.

use super::Agent;

/// An option of an agent's command line that zwarm sets itself: an
/// `--agent-arg` naming it would contradict zwarm (a second output format,
/// another conversation, wider rights), so it is refused.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reserved {
    /// The agent's spelling: `--model`, or a subcommand such as `resume`.
    pub option: &'static str,
    /// Its one-letter spelling, if it has one: `-m`.
    pub short: Option<&'static str>,
    /// What sets it in zwarm, as people know it: `its --model`.
    pub by: &'static str,
}

/// What sets the options zwarm sets, in its error messages.
pub(crate) const MODEL: &str = "its --model";
pub(crate) const SANDBOX: &str = "its --sandbox";
pub(crate) const CD: &str = "its --cd";
pub(crate) const MAX_COST: &str = "its --max-cost";
pub(crate) const RESUME: &str = "the conversation inject resumes";
pub(crate) const SESSION_ID: &str = "the session id a first turn pins";
pub(crate) const OUTPUT: &str = "the output it reads";
pub(crate) const TASK: &str = "the task";

impl Reserved {
    pub(crate) const fn new(
        option: &'static str,
        short: Option<&'static str>,
        by: &'static str,
    ) -> Self {
        Reserved { option, short, by }
    }
}

/// A long option's name as a command-line parser may also read it: yargs
/// (qwen) takes `--approvalMode` and `--approval_mode` for
/// `--approval-mode`, so case, `-` and `_` do not tell names apart here.
fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `arg` names `r`: `--name` or `--name=value` (in any spelling
/// [`folded`] equates), one of the letters of `-xyz` or `-xyz=value`
/// (short options may be grouped, so each letter may be an option; a
/// short option's value goes in an `--agent-arg` of its own), or the
/// argument itself for a subcommand.
fn names(arg: &str, r: &Reserved) -> bool {
    if let Some(long) = arg.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        r.option.starts_with("--") && folded(name) == folded(r.option)
    } else if let Some(letters) = arg.strip_prefix('-').filter(|l| !l.is_empty()) {
        let letters = letters.split('=').next().unwrap_or(letters);
        r.short.is_some_and(|s| {
            let s = s.trim_start_matches('-');
            letters
                .char_indices()
                .any(|(at, c)| letters[at..at + c.len_utf8()] == *s)
        })
    } else {
        arg == r.option
    }
}

/// Refuses an argument that is one of the options `agent` has zwarm set, or
/// that would end the agent's options (`--`), naming both; `agent_name` is
/// the agent as people call it.
pub(crate) fn check(agent: &dyn Agent, agent_name: &str, args: &[String]) -> Result<(), String> {
    for arg in args {
        if arg == "--" {
            return Err(format!(
                "--agent-arg '--' would end {agent_name}'s options: zwarm puts the task after it"
            ));
        }
        let hit = agent.reserved_options().iter().find(|r| names(arg, r));
        if let Some(r) = hit {
            let spelled = match r.short {
                Some(s) => format!("{s}/{}", r.option),
                None => r.option.to_string(),
            };
            return Err(format!(
                "--agent-arg '{}' collides with {agent_name}'s {spelled}, which zwarm sets itself ({})",
                arg.escape_debug(),
                r.by
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AgentKind;

    fn check_for(kind: AgentKind, args: &[&str]) -> Result<(), String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        check(kind.adapter(), kind.display_name(), &args)
    }

    /// Where each agent gets them: after zwarm's options, before the
    /// conversation (codex's `resume`), `--` and the prompt.
    #[test]
    fn agent_args_go_after_zwarms_options_and_before_the_conversation_and_the_task() {
        use crate::agent::test_support::argv;
        use crate::agent::{PromptVia, TurnSpec};
        let extra = [
            "-c".to_string(),
            "k=v".to_string(),
            "--max-turns=3".to_string(),
        ];
        let spec = |resume| TurnSpec {
            prompt: "task",
            prompt_via: PromptVia::Argument,
            model: None,
            sandbox: None,
            working_dir: std::path::Path::new("/w"),
            resume,
            session_id: "52afcdf0-2eae-495a-b1bf-ee9cec877555",
            max_budget_usd: None,
            agent_args: &extra,
        };
        let id = "0eca613e-1170-4972-903b-118a5e093f7c";
        let tail = |kind: AgentKind, resume| {
            let a = argv(kind.adapter(), &spec(resume));
            let at = a.iter().position(|x| x == "-c").unwrap();
            a[at..].to_vec()
        };
        assert_eq!(
            tail(AgentKind::Codex, Some(id)),
            ["-c", "k=v", "--max-turns=3", "resume", "--", id, "task"]
        );
        assert_eq!(
            tail(AgentKind::Codex, None),
            ["-c", "k=v", "--max-turns=3", "--", "task"]
        );
        assert_eq!(
            tail(AgentKind::Claude, Some(id)),
            [
                "-c",
                "k=v",
                "--max-turns=3",
                &format!("--resume={id}"),
                "--",
                "task"
            ]
        );
        assert_eq!(
            tail(AgentKind::Qwen, Some(id)),
            [
                "-c",
                "k=v",
                "--max-turns=3",
                &format!("--resume={id}"),
                "--prompt=task"
            ]
        );
    }

    #[test]
    fn an_option_is_named_in_every_spelling_its_parser_reads() {
        let model = Reserved::new("--model", Some("-m"), MODEL);
        for arg in [
            "--model",
            "--model=o3",
            "--Model=x",
            "--mo_del",
            "-m",
            "-mo3",
            "-dm",
            "-xm=1",
        ] {
            assert!(names(arg, &model), "{arg}");
        }
        for arg in [
            "--models", "--mode", "-c", "-", "model", "-C=/m", "--", "--\u{e9}",
        ] {
            assert!(!names(arg, &model), "{arg}");
        }
        let resume = Reserved::new("resume", None, RESUME);
        assert!(names("resume", &resume));
        assert!(!names("--resume", &resume) && !names("-r", &resume));
    }

    #[test]
    fn options_zwarm_does_not_set_pass() {
        assert_eq!(
            check_for(AgentKind::Codex, &["-c", "model_reasoning_effort=high"]),
            Ok(())
        );
        assert_eq!(
            check_for(AgentKind::Codex, &["--config=x=y", "--profile", "p"]),
            Ok(())
        );
        assert_eq!(
            check_for(AgentKind::Claude, &["--max-turns", "3", "--add-dir=/x"]),
            Ok(())
        );
        assert_eq!(
            check_for(
                AgentKind::Qwen,
                &["--max-session-turns=3", "--auth-type=openai"]
            ),
            Ok(())
        );
        assert_eq!(check_for(AgentKind::Qwen, &[]), Ok(()));
    }

    #[test]
    fn options_zwarm_sets_are_refused_naming_both() {
        let refused = |kind, arg: &str| check_for(kind, &["--ok-flag", arg]).unwrap_err();
        assert_eq!(
            refused(AgentKind::Codex, "--model=o3"),
            "--agent-arg '--model=o3' collides with codex's -m/--model, which zwarm sets itself (its --model)"
        );
        assert!(refused(AgentKind::Codex, "-mo3").contains("codex's -m/--model"));
        assert!(refused(AgentKind::Qwen, "--approvalMode=yolo").contains("qwen's --approval-mode"));
        assert!(refused(AgentKind::Qwen, "-dy").contains("qwen's -y/--yolo"));
        for (kind, arg, by) in [
            (AgentKind::Codex, "--json", OUTPUT),
            (AgentKind::Codex, "resume", RESUME),
            (AgentKind::Codex, "-s", SANDBOX),
            (
                AgentKind::Codex,
                "--dangerously-bypass-approvals-and-sandbox",
                SANDBOX,
            ),
            (AgentKind::Codex, "-C=/tmp", CD),
            (AgentKind::Claude, "--output-format=json", OUTPUT),
            (AgentKind::Claude, "-p", OUTPUT),
            (AgentKind::Claude, "--resume=x", RESUME),
            (AgentKind::Claude, "-c", RESUME),
            (AgentKind::Claude, "--session-id", SESSION_ID),
            (AgentKind::Claude, "--dangerously-skip-permissions", SANDBOX),
            (AgentKind::Claude, "--max-budget-usd=9", MAX_COST),
            (AgentKind::Claude, "--model", MODEL),
            (AgentKind::Qwen, "-o", OUTPUT),
            (AgentKind::Qwen, "--yolo", SANDBOX),
            (AgentKind::Qwen, "--approval-mode=plan", SANDBOX),
            (AgentKind::Qwen, "-r", RESUME),
            (AgentKind::Qwen, "--prompt=x", TASK),
            (AgentKind::Qwen, "--worktree", CD),
        ] {
            let why = refused(kind, arg);
            assert!(why.ends_with(&format!("({by})")), "{arg}: {why}");
            assert!(
                why.starts_with(&format!(
                    "--agent-arg '{arg}' collides with {}'s ",
                    kind.display_name()
                )),
                "{why}"
            );
        }
        assert!(check_for(AgentKind::Claude, &["--"])
            .unwrap_err()
            .contains("would end claude's options"));
    }
}
