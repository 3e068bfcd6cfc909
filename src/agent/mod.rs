//! The adapter contract: how to start and resume an agent, and how to read its
//! stream. Only the adapters know an agent's event vocabulary.

pub(crate) mod agent_args;
pub(crate) mod claude;
pub(crate) mod codex;
#[cfg(test)]
mod fuzz;
pub(crate) mod gemini;
mod meter;
pub(crate) mod qwen;
#[cfg(test)]
pub(crate) mod test_support;

pub(crate) use crate::model::AgentKind;
use crate::model::{TurnRecord, Usage};
use crate::turn::{self, OutputDetail, Step, StreamParser, TurnReader, TurnSummary};
pub(crate) use agent_args::Reserved;
pub(crate) use meter::UsageMeter;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

impl AgentKind {
    pub(crate) fn adapter(self) -> &'static dyn Agent {
        match self {
            AgentKind::Codex => &codex::Codex,
            AgentKind::Claude => &claude::Claude,
            AgentKind::Gemini => &gemini::Gemini,
            AgentKind::Qwen => &qwen::Qwen,
        }
    }

    /// A fresh parser of this agent's stream for one turn, keeping as much
    /// of commands' outputs as `detail` says.
    pub(crate) fn parser(self, detail: OutputDetail) -> Parser {
        match self {
            AgentKind::Codex => Parser::Codex(codex::CodexParser::new(detail)),
            AgentKind::Claude => Parser::Claude(claude::ClaudeParser::new(detail)),
            AgentKind::Gemini => Parser::Gemini(gemini::GeminiParser::new(detail)),
            AgentKind::Qwen => Parser::Qwen(qwen::QwenParser::new(detail)),
        }
    }
}

/// The prompt length, in bytes, above which the prompt goes to the agent on
/// its stdin rather than as an argument.
///
/// Linux refuses to exec a program with any single argument of 128 KiB or
/// more (`MAX_ARG_STRLEN`, 32 pages, counting the terminating NUL): the spawn
/// fails with E2BIG, "Argument list too long (os error 7)". Half of that
/// leaves room for everything else that must fit in the same exec: the
/// kernel also bounds the argv and the environment together, to a quarter of
/// the stack limit but never less than those same 128 KiB, so a small stack
/// limit and a large environment still leave a 64 KiB prompt room to pass.
pub(crate) const PROMPT_ARG_MAX: usize = 64 * 1024;

/// How the prompt reaches the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PromptVia {
    /// As the last argument.
    Argument,
    /// Not in the argv at all: whoever starts the agent gives it the prompt
    /// as its stdin, whole, ending in EOF (a regular file, or a pipe that
    /// is closed once written).
    Stdin,
}

impl PromptVia {
    /// How `prompt` can be passed: on stdin when it cannot be an argument
    /// (too long for exec, or holding a NUL byte) or would not be read as
    /// itself (codex reads a lone `-` as "the prompt is on stdin").
    pub(crate) fn for_prompt(prompt: &str) -> PromptVia {
        if prompt.len() > PROMPT_ARG_MAX || prompt.contains('\0') || prompt == "-" {
            PromptVia::Stdin
        } else {
            PromptVia::Argument
        }
    }
}

/// What one turn asks of the agent.
#[derive(Clone, Debug)]
pub(crate) struct TurnSpec<'a> {
    /// The task. In the argv only when `prompt_via` is `Argument`.
    pub prompt: &'a str,
    pub prompt_via: PromptVia,
    pub model: Option<&'a str>,
    pub sandbox: Option<&'a str>,
    pub working_dir: &'a Path,
    /// The agent's conversation id to continue; None for a first turn.
    pub resume: Option<&'a str>,
    /// zwarm's session id, which an agent may adopt as its own (claude).
    pub session_id: &'a str,
    /// What is left of the session's cost budget, for an agent that stops
    /// itself at a cost it is given (claude); others ignore it.
    pub max_budget_usd: Option<f64>,
    /// `--agent-arg`s, as given: after the options zwarm sets, before the
    /// conversation to resume and the prompt. None of them is one of the
    /// agent's `reserved_options` (see [`agent_args::check`]).
    pub agent_args: &'a [String],
}

pub(crate) trait Agent: Sync {
    /// The program to run, found on `PATH` unless `bin_env` names another.
    fn program(&self) -> &'static str;

    /// The environment variable that overrides where the program is.
    fn bin_env(&self) -> &'static str;

    /// The arguments after the program name. Never a shell string. Every
    /// value that comes from the session (model, sandbox, directory, ids,
    /// prompt) is attached to its option (`--opt=value`) or placed after
    /// `--`, so that no value can be read as an option of its own.
    fn args(&self, spec: &TurnSpec) -> Vec<OsString>;

    /// The options `args` sets from the session (output format, resume,
    /// session id, sandbox, working directory, model, budget, prompt), and
    /// those that would override them: `--agent-arg` may not name them.
    fn reserved_options(&self) -> &'static [Reserved];

    /// Whether `id` has the form of this agent's conversation ids. A stored
    /// id that does not must never be passed to the agent: it comes from a
    /// file the agent itself can write.
    fn valid_conversation_id(&self, id: &str) -> bool;

    /// The usage this turn adds to the session, given what its stream
    /// reported and the records of the turns before it.
    fn turn_usage(
        &self,
        reported: &Usage,
        reported_session: Option<&str>,
        earlier: &[TurnRecord],
    ) -> Usage;

    /// The session's cost after this turn, where the agent reports one.
    fn session_cost(&self, reported: Option<f64>, earlier: &[TurnRecord]) -> Option<f64>;

    /// Whether the agent reports what it costs: a cost budget needs it.
    fn reports_cost(&self) -> bool {
        false
    }

    /// A meter of the usage a turn adds as its stream grows, for an agent
    /// that reports usage during the turn; None for one that reports it
    /// only at the end (codex), whose budget is checked between turns.
    fn usage_meter(&self) -> Option<Box<dyn UsageMeter>> {
        None
    }

    /// Finds the program: `$<bin_env>` if set, else the first match on `PATH`.
    fn locate(&self) -> Result<PathBuf, String> {
        if let Some(p) = std::env::var_os(self.bin_env()).filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            return if is_executable(&p) {
                Ok(p)
            } else {
                Err(format!(
                    "{} is set to {}, which is not an executable file",
                    self.bin_env(),
                    p.display()
                ))
            };
        }
        find_on_path(self.program()).ok_or_else(|| {
            format!(
                "`{}` was not found on PATH (install it, or set {} to its path)",
                self.program(),
                self.bin_env()
            )
        })
    }
}

/// A parser of one agent's stream, whichever the agent: each reads its
/// turns through the same generic readers, dispatched here once per turn
/// rather than once per line.
pub(crate) enum Parser {
    Codex(codex::CodexParser),
    Claude(claude::ClaudeParser),
    Gemini(gemini::GeminiParser),
    Qwen(qwen::QwenParser),
}

/// `$body` with `$p` bound to the parser inside `$parser`, whichever it is.
macro_rules! with_parser {
    ($parser:expr, $p:ident => $body:expr) => {
        match $parser {
            Parser::Codex($p) => $body,
            Parser::Claude($p) => $body,
            Parser::Gemini($p) => $body,
            Parser::Qwen($p) => $body,
        }
    };
}

impl Parser {
    /// Every step of the turn file at `path` (see [`turn::read_turn`]).
    pub(crate) fn read_turn(
        &mut self,
        path: &Path,
        complete: bool,
        emit: &mut dyn FnMut(Step),
    ) -> io::Result<()> {
        with_parser!(self, p => turn::read_turn(path, p, complete, emit))
    }

    /// The steps written since `reader` last read (see [`TurnReader`]).
    pub(crate) fn read_more(
        &mut self,
        reader: &mut TurnReader,
        complete: bool,
        emit: &mut dyn FnMut(Step),
    ) -> io::Result<()> {
        with_parser!(self, p => reader.read(p, complete, emit))
    }

    /// What the finished turn file at `path` says, beyond its steps.
    pub(crate) fn summarize(mut self, path: &Path) -> io::Result<TurnSummary> {
        with_parser!(&mut self, p => turn::summarize_turn(path, p))
    }

    /// One line, without its newline.
    pub(crate) fn feed(&mut self, lineno: u64, line: &[u8], emit: &mut dyn FnMut(Step)) {
        with_parser!(self, p => p.feed(lineno, line, emit))
    }

    /// End of stream: steps still open are emitted as they stand.
    pub(crate) fn finish(&mut self, emit: &mut dyn FnMut(Step)) {
        with_parser!(self, p => p.finish(emit))
    }

    pub(crate) fn summary(&self) -> &TurnSummary {
        with_parser!(self, p => p.summary())
    }
}

/// Whether `s` is a UUID written the usual way: 36 characters, hex digits in
/// groups of 8-4-4-4-12 separated by hyphens (either case). Nothing else:
/// not the braced, URN or unhyphenated forms, and no surrounding text.
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `--name=value`: one argument, whose value no parser can take for an
/// option, whatever it starts with.
pub(crate) fn long_opt(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut a = OsString::from(name);
    a.push("=");
    a.push(value);
    a
}

pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Shortens text for one-line display, on a char boundary.
pub(crate) fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_prompts_and_prompts_no_argument_can_carry_go_on_stdin() {
        // With room under the kernel's 128 KiB for one argument.
        const { assert!(PROMPT_ARG_MAX <= 128 * 1024 / 2) };
        let at_limit = "a".repeat(PROMPT_ARG_MAX);
        assert_eq!(PromptVia::for_prompt(&at_limit), PromptVia::Argument);
        assert_eq!(
            PromptVia::for_prompt(&format!("{at_limit}a")),
            PromptVia::Stdin
        );
        // Bytes, not characters: 2 bytes each.
        let wide = "\u{e9}".repeat(PROMPT_ARG_MAX / 2 + 1);
        assert_eq!(PromptVia::for_prompt(&wide), PromptVia::Stdin);
        assert_eq!(PromptVia::for_prompt("a\0b"), PromptVia::Stdin);
        assert_eq!(PromptVia::for_prompt("-"), PromptVia::Stdin);
        for short in ["fix the tests", "--yolo", "- item", "--"] {
            assert_eq!(PromptVia::for_prompt(short), PromptVia::Argument, "{short}");
        }
    }

    #[test]
    fn uuids_in_their_usual_form_only() {
        for id in [
            "01a209eb-9fe5-7091-945e-ca2ae2c25c85",
            "52afcdf0-2eae-495a-b1bf-ee9cec877555",
            "52AFCDF0-2EAE-495A-B1BF-EE9CEC877555",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert!(is_uuid(id), "{id}");
        }
        for id in test_support::NOT_CONVERSATION_IDS {
            assert!(!is_uuid(id), "{id:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 100,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Each agent's real parser, fed a file cut into chunks of any size
        /// and decoded on any number of threads, makes the steps and the
        /// summary it makes reading the file line by line.
        #[test]
        fn the_parsers_read_alike_on_one_thread_and_on_many(
            picks in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), 0..4u8), 0..40),
            chunk in 1u64..300,
            workers in 1usize..4,
            complete in proptest::prelude::any::<bool>(),
            agent in 0..4u8,
        ) {
            let (kind, names): (AgentKind, &[&str]) = match agent {
                0 => (AgentKind::Claude, &["claude_rich.jsonl", "claude_first_turn.jsonl"]),
                1 => (AgentKind::Gemini, &["gemini_first_turn.jsonl", "gemini_command_exit_3.jsonl"]),
                2 => (AgentKind::Qwen, &["qwen_first_turn.jsonl", "qwen_failed_command.jsonl"]),
                _ => (AgentKind::Codex, &["codex_rich.jsonl", "codex_mcp.jsonl"]),
            };
            let all: Vec<String> = names
                .iter()
                .flat_map(|n| {
                    std::fs::read_to_string(test_support::transcript(n))
                        .unwrap()
                        .lines()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut bytes = Vec::new();
            for (pick, shape) in &picks {
                match shape {
                    0 => bytes.extend_from_slice(b"  \r"),
                    1 => bytes.extend_from_slice(b"not json"),
                    _ => bytes.extend_from_slice(pick.get(&all).as_bytes()),
                }
                bytes.push(b'\n');
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("turn_1.jsonl");
            std::fs::write(&path, &bytes).unwrap();
            let detail = OutputDetail::Preview { lines: 3, width: 20 };
            let read = |chunked: bool| {
                let mut parser = kind.parser(detail);
                let mut steps = Vec::new();
                let file = std::fs::File::open(&path).unwrap();
                let mut emit = |s| steps.push(s);
                match (&mut parser, chunked) {
                    (Parser::Codex(p), true) => {
                        turn::read_in_chunks(file, p, complete, workers, chunk, &mut emit).unwrap()
                    }
                    (Parser::Claude(p), true) => {
                        turn::read_in_chunks(file, p, complete, workers, chunk, &mut emit).unwrap()
                    }
                    (Parser::Gemini(p), true) => {
                        turn::read_in_chunks(file, p, complete, workers, chunk, &mut emit).unwrap()
                    }
                    (Parser::Qwen(p), true) => {
                        turn::read_in_chunks(file, p, complete, workers, chunk, &mut emit).unwrap()
                    }
                    (p, false) => p.read_more(&mut TurnReader::new(&path), complete, &mut emit).unwrap(),
                }
                (steps, parser.summary().clone())
            };
            proptest::prop_assert_eq!(read(true), read(false));
        }
    }

    #[test]
    fn long_opt_keeps_the_value_whole() {
        assert_eq!(long_opt("--model", "-c=x=y"), "--model=-c=x=y");
        assert_eq!(long_opt("--cd", ""), "--cd=");
    }
}
