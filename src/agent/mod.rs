//! The adapter contract: how to start and resume an agent, and how to read its
//! stream. Only the adapters know an agent's event vocabulary.

pub mod claude;
pub mod codex;
#[cfg(test)]
pub(crate) mod test_support;

use crate::session::model::{TurnRecord, Usage};
use crate::trajectory::{OutputDetail, Step, TurnSummary};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgentKind {
    Codex,
    Claude,
}

impl AgentKind {
    /// The name stored in `meta.json`'s `adapter` (2.3.5's names).
    pub fn meta_name(self) -> &'static str {
        match self {
            AgentKind::Codex => "codex",
            AgentKind::Claude => "claude_code",
        }
    }

    /// The short name people type and see.
    pub fn display_name(self) -> &'static str {
        match self {
            AgentKind::Codex => "codex",
            AgentKind::Claude => "claude",
        }
    }

    pub fn from_meta(name: &str) -> Option<Self> {
        match name {
            "codex" => Some(AgentKind::Codex),
            "claude_code" | "claude" => Some(AgentKind::Claude),
            _ => None,
        }
    }

    pub fn adapter(self) -> &'static dyn Agent {
        match self {
            AgentKind::Codex => &codex::Codex,
            AgentKind::Claude => &claude::Claude,
        }
    }
}

/// What one turn asks of the agent.
#[derive(Clone, Debug)]
pub struct TurnSpec<'a> {
    pub prompt: &'a str,
    pub model: Option<&'a str>,
    pub sandbox: Option<&'a str>,
    pub working_dir: &'a Path,
    /// The agent's conversation id to continue; None for a first turn.
    pub resume: Option<&'a str>,
    /// zwarm's session id, which an agent may adopt as its own (claude).
    pub session_id: &'a str,
}

pub trait Agent: Sync {
    fn kind(&self) -> AgentKind;

    /// The program to run, found on `PATH` unless `bin_env` names another.
    fn program(&self) -> &'static str;

    /// The environment variable that overrides where the program is.
    fn bin_env(&self) -> &'static str;

    /// The arguments after the program name. Never a shell string.
    fn args(&self, spec: &TurnSpec) -> Vec<OsString>;

    /// A fresh parser for one turn's stream, keeping as much of commands'
    /// outputs as `detail` says.
    fn parser(&self, detail: OutputDetail) -> Box<dyn StreamParser>;

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

/// One line of a stream as an adapter's decoder read it, not yet applied to
/// the turn's state.
#[allow(clippy::large_enum_variant)] // see codex::Decoded
pub enum Decoded {
    Codex(codex::Decoded),
    Claude(claude::Decoded),
}

/// A parser's decoding stage, detached from the parser so that other threads
/// can run it.
#[derive(Clone, Copy)]
pub struct Decoder {
    decode: fn(&[u8], OutputDetail) -> Decoded,
    detail: OutputDetail,
}

impl Decoder {
    pub fn new(decode: fn(&[u8], OutputDetail) -> Decoded, detail: OutputDetail) -> Self {
        Decoder { decode, detail }
    }

    pub fn decode(&self, line: &[u8]) -> Decoded {
        (self.decode)(line, self.detail)
    }
}

/// Turns one agent's JSONL stream into steps and a summary, in two stages:
/// decoding a line (most of the work, and free of state, so a long file's
/// lines can be decoded on other threads) and applying it, in file order.
pub trait StreamParser {
    /// The decoding stage. Never fails: a line it cannot read is decoded as
    /// such, to be counted in `skipped_lines` or become an `other` step.
    fn decoder(&self) -> Decoder;

    /// Applies the decoded line numbered `lineno` (1-based), emitting the
    /// steps it completes.
    fn apply(&mut self, lineno: u64, line: Decoded, emit: &mut dyn FnMut(Step));

    /// Whether a long file's lines are worth decoding on other threads: not
    /// when what a line decodes to is large, as it then costs more to hand
    /// over (and to free on another thread) than to decode here.
    fn parallel_decoding(&self) -> bool {
        true
    }

    /// One line, without its newline: decoded, then applied.
    fn feed(&mut self, lineno: u64, line: &[u8], emit: &mut dyn FnMut(Step)) {
        let decoded = self.decoder().decode(line);
        self.apply(lineno, decoded, emit);
    }

    /// End of stream: steps still open are emitted as they stand.
    fn finish(&mut self, emit: &mut dyn FnMut(Step));

    fn summary(&self) -> &TurnSummary;
}

pub fn find_on_path(program: &str) -> Option<PathBuf> {
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
pub fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}
