//! The command line: clap definitions. The `///` docs are the help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0    success (for `start`: the turn is running)
  1    failure: the command failed, or the session it started failed
  2    usage error: bad arguments, malformed or ambiguous id, empty task
  3    no session matches the id
  4    a session ended without completing (failed or killed)
  5    the session has a turn running (e.g. `inject`, `rm` without --force)
  124  `wait --timeout` ran out";

const EXAMPLES: &str = "\
Examples:
  zwarm start \"add a --verbose flag to the CLI\"
  zwarm start -a claude -m sonnet -C ../api \"fix the failing test\"
  zwarm ls
  zwarm traj 3f2a
  zwarm inject 3f2a \"now add tests for it\"
  zwarm kill 3f2a";

#[derive(Parser, Debug)]
#[command(
    name = "zwarm",
    version,
    about = "Run coding agents (Codex CLI, Claude Code) as background sessions",
    long_about = "Run coding agents (Codex CLI, Claude Code) as background sessions.\n\n\
        Each session lives on disk under .zwarm/sessions/<id>/; every command reads that state.\n\
        Session ids may be shortened to any unique prefix.",
    after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    /// State directory [default: the nearest .zwarm above the current directory, else ./.zwarm]
    #[arg(long, global = true, env = "ZWARM_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Print machine-readable JSON (each document carries `schema_version`)
    #[arg(long, global = true)]
    pub json: bool,

    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AdapterArg {
    Codex,
    #[value(alias = "claude_code", alias = "claude-code")]
    Claude,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a new session in the background and print its id
    #[command(
        after_help = "Examples:\n  zwarm start \"refactor the parser\"\n  zwarm start -s danger-full-access -- \"-v flag: add it\"\n  zwarm start --json -a claude \"write a README\""
    )]
    Start(StartArgs),

    /// List sessions, newest first
    #[command(visible_alias = "ls")]
    List(ListArgs),

    /// Everything about one session: status, turns, messages, usage, error
    Show(IdArg),

    /// Send the next message of a session's conversation (a new turn)
    #[command(
        visible_alias = "continue",
        after_help = "The agent resumes its own conversation (codex thread, claude session), \
        so it keeps the whole context.\n\nExample:\n  zwarm inject 3f2a \"now run the tests\""
    )]
    Inject(InjectArgs),

    /// Stop running sessions and their whole process trees
    Kill(KillArgs),

    /// Delete finished sessions
    Rm(RmArgs),

    /// What a session's agent did, step by step
    #[command(visible_alias = "traj")]
    Trajectory(TrajectoryArgs),

    /// The raw JSONL the agent wrote for a turn
    Output(OutputArgs),

    /// Internal: run one turn of a session (started by `start` and `inject`)
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// What the agent should do (words are joined with spaces; put `--` before a task that starts with `-`)
    #[arg(required = true, value_name = "TASK")]
    pub task: Vec<String>,

    /// Which agent runs the session
    #[arg(short, long, value_enum, default_value_t = AdapterArg::Codex)]
    pub adapter: AdapterArg,

    /// Model to ask the agent for [default: the agent's own default]
    #[arg(short, long)]
    pub model: Option<String>,

    /// Directory the agent works in [default: the current directory]
    #[arg(short = 'C', long = "cd", value_name = "DIR")]
    pub cd: Option<PathBuf>,

    /// Codex sandbox: read-only, workspace-write or danger-full-access
    #[arg(short, long, value_name = "MODE")]
    pub sandbox: Option<String>,

    /// Who started it: `user`, or `orchestrator:<id>` for programs
    #[arg(long, default_value = "user")]
    pub source: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only sessions with this status
    #[arg(long, value_parser = ["pending", "running", "completed", "failed", "killed"])]
    pub status: Option<String>,
}

#[derive(Args, Debug)]
pub struct IdArg {
    /// Session id or a unique prefix of it
    pub id: String,
}

#[derive(Args, Debug)]
pub struct InjectArgs {
    /// Session id or a unique prefix of it
    pub id: String,
    /// The message (words are joined with spaces)
    #[arg(required = true, value_name = "MESSAGE")]
    pub message: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Session ids or unique prefixes
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub ids: Vec<String>,
    /// Stop every running session
    #[arg(long)]
    pub all: bool,
    /// Delete the sessions after stopping them
    #[arg(long)]
    pub delete: bool,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Session ids or unique prefixes
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Stop running sessions first instead of refusing
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct TrajectoryArgs {
    /// Session id or a unique prefix of it
    pub id: String,
    /// Show text and output in full instead of shortened
    #[arg(long)]
    pub full: bool,
    /// Only this turn
    #[arg(long, value_name = "N")]
    pub turn: Option<u32>,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Session id or a unique prefix of it
    pub id: String,
    /// Which turn [default: the latest]
    #[arg(long, value_name = "N")]
    pub turn: Option<u32>,
    /// The agent's stderr instead of its JSONL
    #[arg(long)]
    pub stderr: bool,
}

#[derive(Args, Debug)]
pub struct SuperviseArgs {
    pub state_dir: PathBuf,
    pub id: String,
    pub turn: u32,
    #[arg(last = true, required = true)]
    pub argv: Vec<OsString>,
}
