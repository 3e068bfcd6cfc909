//! The command line: clap definitions. The `///` docs are the help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

mod budget;
mod duration;
mod legacy;
mod queue;
use budget::{parse_max_cost, parse_max_tokens};
pub(crate) use duration::parse_duration;
use duration::parse_timeout;
pub(crate) use legacy::{LegacyArgs, LegacyCommand};
use queue::{parse_after_id, parse_group, parse_max_running};

const EXIT_CODES: &str = "\
Exit codes:
  0    success (for `start` and `inject`: the turn is running)
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
    about = "Run coding agents (Codex CLI, Claude Code, Gemini CLI, Qwen Code) as background sessions",
    long_about = "Run coding agents (Codex CLI, Claude Code, Gemini CLI, Qwen Code) as background sessions.\n\n\
        Each session lives on disk under .zwarm/sessions/<id>/; every command reads that state.\n\
        Session ids may be shortened to any unique prefix.",
    after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"),
)]
pub(crate) struct Cli {
    /// State directory [default: the nearest .zwarm above the current directory, else ./.zwarm]
    #[arg(long, global = true, env = "ZWARM_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Print machine-readable JSON (each document carries `schema_version`)
    #[arg(long, global = true)]
    pub json: bool,

    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// A running turn that has only retried (lost its model endpoint) for this long is shown as stalled
    #[arg(long, global = true, env = "ZWARM_STALL_AFTER", value_parser = parse_duration, default_value = "5m", value_name = "DURATION")]
    pub stall_after: std::time::Duration,

    /// Run the command on this remote (see `zwarm remote`): every verb but remote, mcp and completions. An id `NAME:ID` says the same
    #[arg(long, global = true, value_name = "NAME")]
    pub host: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AdapterArg {
    Codex,
    #[value(alias = "claude_code", alias = "claude-code")]
    Claude,
    Gemini,
    Qwen,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Start a new session in the background and print its id
    #[command(
        after_help = "With --worktree the agent works in a git worktree of its own, on a new branch \
        zwarm/<short id> (or zwarm/NAME) from --base, kept at .zwarm/worktrees/<short id>; nothing \
        in the current checkout changes. In a git repository, each turn's working tree is kept as \
        two snapshot commits (refs/zwarm/<id>/turn-<N>-start and turn-<N>) that `zwarm diff` and \
        `zwarm apply` read; the agent's index, HEAD and branch are never touched.\n\n\
        Examples:\n  zwarm start \"refactor the parser\"\n  zwarm start -w \"add a --verbose flag\"\n  \
        zwarm start --worktree=verbose --base main \"add a --verbose flag\"\n  \
        zwarm start --timeout 30m \"run the migration\"   # stopped at 30 minutes: ending timed_out\n  \
        zwarm start --max-tokens 2000000 \"port the tests\"   # stopped at 2M tokens: budget_exceeded\n  \
        zwarm start -a claude --max-cost 5 \"port the tests\"   # stopped at $5 (claude)\n  \
        zwarm start --on-end 'notify-send \"$ZWARM_SESSION_ID $ZWARM_STATUS\"' \"fix the test\"\n  \
        zwarm start --host build1 \"run the slow suite\"   # on a remote, in its --workdir (see `zwarm remote`)\n  \
        zwarm start --host build1 -C /srv/api \"fix the test\"   # -C is a directory on build1\n  \
        for t in a b c d e f; do zwarm start --max-running 2 \"task $t\"; done   # two at a time, the rest pending\n  \
        zwarm start --max-running 1 --group db \"migrate the schema\"   # one at a time among --group db\n  \
        zwarm start --after 3f2a,9b1c \"merge both branches\"   # once both completed; else dependency_failed\n  \
        zwarm start -s danger-full-access -- \"-v flag: add it\"\n  zwarm start --json -a claude \"write a README\"\n  \
        zwarm start -a gemini -m gemini-2.5-flash \"write a README\"\n  \
        zwarm start -a qwen -m qwen3-coder-plus \"port the tests\"\n  \
        zwarm start --agent-arg -c --agent-arg model_reasoning_effort=high \"tune the cache\"   # codex -c key=value\n  \
        zwarm start -a claude --agent-arg=--max-turns=5 \"fix the lint\"   # an option zwarm does not model\n\n\
        An agent's own `zwarm start` is bounded: its sessions run at ZWARM_DEPTH one more than it, and \
        none starts deeper than ZWARM_MAX_DEPTH (default 2; lowered along the chain, never raised)."
    )]
    Start(StartArgs),

    /// List sessions, newest first
    #[command(
        visible_alias = "ls",
        after_help = "What was read of finished sessions is kept in .zwarm/list-index/, a cache \
        checked against each session's meta.json on every call; deleting it only makes the next \
        list slower.\n\nWith --all-hosts, every remote (see `zwarm remote`) is asked at once, each for \
        --host-timeout at most; one that does not answer is shown stale: the sessions it listed last, \
        and when.\n\nExamples:\n  zwarm list\n  zwarm list --status failed\n  zwarm --json list\n  \
        zwarm list --host build1\n  zwarm list --all-hosts --host-timeout 2s"
    )]
    List(ListArgs),

    /// Everything about one session: status, turns, messages, usage, error
    #[command(
        after_help = "Examples:\n  zwarm show 3f2a\n  zwarm --json show 3f2a | jq -r .status\n  zwarm show build1:3f2a   # a session on the remote build1"
    )]
    Show(IdArg),

    /// Send the next message of a session's conversation (a new turn)
    #[command(
        visible_alias = "continue",
        after_help = "The agent resumes its own conversation (codex thread, claude or qwen session), \
        so it keeps the whole context. A message that starts with '-' goes after `--`.\n\n\
        Examples:\n  zwarm inject 3f2a \"now run the tests\"\n  zwarm inject 3f2a -- \"-v should print more\"\n  \
        zwarm inject --timeout 1h 3f2a \"now the slow integration suite\"\n  \
        zwarm inject --max-running 4 3f2a \"and the docs\"   # pending while 4 of its group run\n  \
        zwarm inject --max-tokens 3000000 3f2a \"go on\"   # this turn may take the session to 3M\n  \
        zwarm inject --max-cost 8 3f2a \"go on\"   # this turn may take the session to $8\n  \
        zwarm inject --agent-arg=--max-turns=20 3f2a \"finish it\"   # this turn's own agent options"
    )]
    Inject(InjectArgs),

    /// Send the latest turn's message again, as a new turn (after a usage limit, say)
    #[command(
        after_help = "The agent resumes its own conversation, as with `inject`. Without --at-reset \
        the turn starts now, and zwarm stops holding pending sessions of that agent back for its \
        account limit. With --at-reset the turn is pending until the reset time the latest turn \
        reported (its `resets_at`), then starts.\n\n\
        Examples:\n  zwarm retry 3f2a\n  zwarm retry --at-reset 3f2a   # when its usage limit lifts\n  \
        zwarm --json ls --status failed | jq -r '.sessions[] | select(.ending == \"rate_limited\") | .id' | xargs -n1 zwarm retry --at-reset"
    )]
    Retry(RetryArgs),

    /// Stop running sessions and their whole process trees
    #[command(
        after_help = "The agent's process group gets SIGTERM, then SIGKILL after 5 s; everything it \
        started goes with it. \"killed\" is said only once the group is gone. Only processes proven \
        the session's are signalled (the mark zwarm puts in their environment), never a pid that \
        meta.json merely names. The agent is stopped even when the store cannot be written (a full \
        disk): the ending is then recorded later by its supervisor.\n\n\
        Exit status: 0 if every session was stopped and recorded; 1 if one was not running, was not \
        proven zwarm's, outlived SIGKILL, or was stopped but its ending not recorded; 3 if an id \
        matched nothing.\n\n\
        Examples:\n  zwarm kill 3f2a\n  zwarm kill --all\n  zwarm kill --delete 3f2a 9b1c"
    )]
    Kill(KillArgs),

    /// Delete finished sessions
    #[command(
        after_help = "A running session is refused (exit 5) unless --force stops it first. The \
        worktree of a `start --worktree` session is removed with it only if it holds nothing its \
        latest snapshot does not (else the files are named and nothing is removed); --force keeps \
        that work as refs/zwarm/<id>/final first. Its branch and snapshot refs are kept, unless \
        --delete-branch and the branch is merged.\n\n\
        Examples:\n  zwarm rm 3f2a 9b1c\n  zwarm rm --force 3f2a\n  zwarm rm --delete-branch 3f2a"
    )]
    Rm(RmArgs),

    /// What a session's agent did, step by step
    #[command(
        visible_alias = "traj",
        after_help = "Examples:\n  zwarm traj 3f2a\n  zwarm traj --turn 2 --full 3f2a\n  \
        zwarm --json traj 3f2a | jq -c '.steps[] | select(.type == \"command\")'"
    )]
    Trajectory(TrajectoryArgs),

    /// What a session (or one turn) changed in its working tree, from its snapshots
    #[command(
        after_help = "A turn's change is its two snapshots (start → end), so what a person changed \
        between turns is never in it; the whole session's is its base (a worktree's base commit, \
        else the first turn's start) → its latest snapshot. It is read from refs, so it works \
        after the worktree is gone.\n\n\
        Examples:\n  zwarm diff 3f2a\n  zwarm diff --turn 2 --stat 3f2a\n  zwarm --json diff 3f2a | jq .changes"
    )]
    Diff(DiffArgs),

    /// Apply what a session (or one turn) changed to the current checkout, uncommitted
    #[command(
        after_help = "Three-way and all or nothing: on a conflict nothing is changed and the \
        conflicting files are named (exit 1). A remote session's change (HOST:ID) comes as the \
        remote's patch and applies here only as it stands: there is no common base for a merge.\n\n\
        Examples:\n  zwarm apply 3f2a\n  zwarm apply --turn 2 3f2a\n  zwarm apply build1:3f2a"
    )]
    Apply(ApplyArgs),

    /// The raw JSONL the agent wrote for a turn
    #[command(
        after_help = "Examples:\n  zwarm output 3f2a | jq -c .type\n  zwarm output --turn 1 --stderr 3f2a"
    )]
    Output(OutputArgs),

    /// Follow a session's steps live until its current turn ends
    #[command(
        after_help = "Exits when the turn ends: 0 if it completed, 4 if it failed or was killed.\n\n\
        Examples:\n  zwarm watch 3f2a\n  zwarm watch --json 3f2a | jq -c 'select(.type == \"command\")'"
    )]
    Watch(WatchArgs),

    /// Block until sessions' current turns end
    #[command(
        after_help = "Exit status: 0 if every session completed, 4 if one failed or was killed, \
        124 if --timeout ran out. Sessions of several hosts (b1:3f2a b2:9c1d, and plain ids of this \
        store) are waited for on each host at once, each blocking on its own store; the worst status \
        wins, or with --any the first host to see a session end decides.\n\nExamples:\n  zwarm wait 3f2a 9b1c\n  zwarm wait build1:3f2a gpu:9c1d 7e01\n  zwarm wait --any build1:3f2a gpu:9c1d\n  zwarm wait --any --timeout 10m $(zwarm ls --status running --json | jq -r '.sessions[].id')"
    )]
    Wait(WaitArgs),

    /// Remove finished sessions that ended long ago (a dry run unless --yes)
    #[command(
        after_help = "A worktree session's worktree goes with it only if it holds nothing its snapshots \
        do not (as with `rm`); its branch and snapshot refs stay. --snapshots drops the snapshot refs \
        of sessions removed longer ago than --older-than.\n\n\
        Examples:\n  zwarm clean                      # list what would go\n  zwarm clean --older-than 1d --yes\n  \
        zwarm clean --snapshots --older-than 30d --yes"
    )]
    Clean(CleanArgs),

    /// Check the store: stale statuses, stray processes, unreadable files, stuck locks
    #[command(
        after_help = "Without --fix, only reports. --fix settles sessions nothing runs behind, \
        stops processes of sessions that are not running, and moves unreadable sessions and \
        leftover temporary files into .zwarm/quarantine/ (it never deletes them). Worktrees no \
        session names, sessions whose worktree is gone, and the branches and snapshot refs of \
        removed sessions are reported and never removed: they may hold the only copy of work.\n\n\
        Exit status: 0 if nothing is wrong (after --fix: nothing is left unfixed), 1 otherwise.\n\n\
        Examples:\n  zwarm doctor\n  zwarm doctor --fix"
    )]
    Doctor(DoctorArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  zwarm completions bash > ~/.local/share/bash-completion/completions/zwarm\n  \
        zwarm completions zsh > ~/.zfunc/_zwarm\n  zwarm completions fish > ~/.config/fish/completions/zwarm.fish"
    )]
    Completions(CompletionsArgs),

    /// Serve zwarm's verbs as MCP tools over stdio, for an orchestrating agent
    #[command(
        after_help = "Speaks the Model Context Protocol on stdin and stdout (diagnostics go to \
        stderr). Its tools are start, list, show, trajectory, diff, wait, inject and kill, each the same \
        code as the verb of that name, returning the same JSON documents. Sessions it starts say \
        `source: orchestrator:<client name>`. Every tool takes `host`, a remote's \
        name (`zwarm remote ls`): it then runs there over SSH, within the same sandbox and session \
        caps. The server ends when its client closes stdin; the sessions it started keep running.\n\n\
        Examples:\n  claude mcp add zwarm -- zwarm mcp\n  \
        zwarm mcp --max-sessions 8 --root ~/src/project\n  \
        zwarm mcp --max-sandbox read-only   # agents may only read\n  \
        zwarm --dir /srv/zwarm-store mcp --root /srv/checkouts --root /tmp/scratch\n  \
        zwarm remote add build1 ci@build1 --workdir /srv/checkout   # then {\"host\": \"build1\"}"
    )]
    Mcp(McpArgs),

    /// A live dashboard of every session: attention first, the selected one's steps, and keys to act
    #[command(
        after_help = "Sessions that failed (a limit, a timeout, a budget) or stalled in the last 24 hours \
        come first, then running ones (the longest first), pending ones, then the rest (newest first). \
        The pane below follows the selected session's latest turn as `watch` does; `v` shows its final \
        message, its raw output, its diff. It is woken by changes in the store, never polls it, and \
        redraws once a second only while a session runs. It needs a terminal (stdout), and has no --json.\n\n\
        With --all-hosts, every remote (see `zwarm remote`) is shown beside this store, and with --host \
        NAME that remote alone: each host is asked for its list in a thread of its own every 2 s, never \
        twice at once, each answer bounded by --host-timeout, so a slow or dead host delays neither the \
        keys nor the other rows. Remote rows read NAME:ID. A host that does not answer is shown stale: \
        a line under the header says when it was last seen and why, and its last known sessions keep \
        their statuses, marked [stale]. On a remote row the preview, `i` and `K` run `trajectory`, \
        `show`, `output`, `diff`, `inject` and `kill` there, in the background.\n\n\
        Keys:\n  ↑ ↓  j k       select a session\n  Enter  v       preview: steps, final message, raw output, diff\n  \
        d              preview the diff\n  i              inject a message into the session (Enter sends)\n  \
        K              kill the session (y confirms)\n  /              filter by text\n  \
        s              cycle the status filter\n  ?              the keys\n  q  Esc         quit\n\n\
        Examples:\n  zwarm top\n  zwarm --dir ~/src/api/.zwarm top\n  NO_COLOR=1 zwarm top\n  \
        zwarm top --all-hosts   # this store and every remote\n  \
        zwarm top --host build1   # build1's sessions only\n  \
        zwarm top --all-hosts --host-timeout 2s"
    )]
    Top(TopArgs),

    /// Print zwarm's version and the schema_version of its --json documents
    #[command(
        after_help = "Examples:\n  zwarm version\n  zwarm --json version | jq .schema_version"
    )]
    Version,

    /// Hosts whose sessions zwarm drives over SSH: add, ls, rm
    #[command(
        after_help = "Remotes are kept in $XDG_CONFIG_HOME/zwarm/remotes.toml (else ~/.config). \
        `remote add` checks the host first: ssh reaches it without prompting (BatchMode), zwarm runs \
        there, and its `zwarm --json version` has this schema_version. Then `--host NAME` or an id \
        `NAME:ID` runs list, show, start, wait, kill, inject, retry, trajectory, watch, diff, output, \
        rm, clean, doctor and version there, printed here as there (with --json, each document gets a `host`); `list --all-hosts` \
        lists every host at once. The arguments travel on ssh's stdin, never through the remote shell. ZWARM_SSH_COMMAND replaces `ssh` and its options, as \
        GIT_SSH_COMMAND does for git.\n\n\
        Examples:\n  zwarm remote add build1 ci@build1.example.com --workdir /srv/checkout\n  \
        zwarm remote add gpu ssh://me@10.0.0.7:2222 --remote-dir /data/zwarm -o IdentityFile=~/.ssh/gpu\n  \
        zwarm remote ls\n  zwarm remote rm gpu\n  zwarm start --host build1 \"run the slow suite\"\n  \
        zwarm show build1:3f2a\n  zwarm list --all-hosts\n  zwarm doctor --host build1\n  \
        zwarm clean --host build1 --older-than 30d --yes"
    )]
    Remote(RemoteArgs),

    /// Internal: run one verb sent over SSH (its arguments come on stdin as JSON)
    #[command(name = "remote-exec", hide = true)]
    RemoteExec,

    /// zwarm 2.3.5's spellings: `zwarm session start|ls|show|logs|inject|kill|clean`
    #[command(hide = true)]
    Session(LegacyArgs),

    /// Internal: run one turn of a session (started by `start` and `inject`)
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),
}

#[derive(Args, Debug)]
pub(crate) struct StartArgs {
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

    /// What the agent may do [default: codex workspace-write; claude, gemini and qwen every tool (bypassPermissions, yolo)]
    #[arg(short, long, value_name = "MODE", value_parser = ["read-only", "workspace-write", "danger-full-access"])]
    pub sandbox: Option<String>,

    /// Who started it: `user`, or `orchestrator:<id>` for programs
    #[arg(long, default_value = "user")]
    pub source: String,

    /// Work in a new git worktree on a new branch zwarm/<short id>; `--worktree=NAME` names the branch zwarm/NAME
    #[arg(short = 'w', long, value_name = "NAME", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub worktree: Option<String>,

    /// The commit the worktree's branch starts from [default: HEAD]
    #[arg(long, value_name = "REF", requires = "worktree")]
    pub base: Option<String>,

    /// Shell command to run in the new worktree before the agent starts (after copying what .worktreeinclude names and initialising submodules)
    #[arg(long, value_name = "CMD", requires = "worktree")]
    pub setup: Option<String>,

    /// Commit each turn's result on the session's branch (zwarm commits, outside the agent's sandbox)
    #[arg(long, requires = "worktree", conflicts_with = "no_snapshot")]
    pub commit_turns: bool,

    /// Stop a turn whose agent has run this long (e.g. 30m); later turns too, unless `inject --timeout` says otherwise
    #[arg(long, value_parser = parse_timeout, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,

    /// Shell command run after each turn ends (in the working directory, with ZWARM_SESSION_ID, ZWARM_TURN, ZWARM_STATUS, ZWARM_ENDING; 60 s at most)
    #[arg(long, env = "ZWARM_ON_END", value_name = "CMD")]
    pub on_end: Option<String>,

    /// Start only while fewer than N turns of the group run; until then the session is pending, in the order sessions were queued. Later turns too, unless `inject --max-running` says otherwise
    #[arg(long, env = "ZWARM_MAX_RUNNING", value_parser = parse_max_running, value_name = "N")]
    pub max_running: Option<u32>,

    /// The group whose running turns --max-running counts [default: the store's one group, `default`]
    #[arg(long, value_parser = parse_group, value_name = "NAME")]
    pub group: Option<String>,

    /// Start only once these sessions' latest turns have ended, and only if they completed (else the session ends dependency_failed)
    #[arg(long, value_delimiter = ',', value_parser = parse_after_id, value_name = "ID[,ID...]")]
    pub after: Vec<String>,

    /// Stop the session once all its turns together have used this many tokens (input, cached included, and output: the total `show` reports); later turns are refused then, unless `inject --max-tokens` allows more
    #[arg(long, value_parser = parse_max_tokens, value_name = "N", allow_negative_numbers = true)]
    pub max_tokens: Option<u64>,

    /// Stop the session once all its turns together have cost this many US dollars (claude: codex reports no cost); later turns are refused then, unless `inject --max-cost` allows more
    #[arg(long, value_parser = parse_max_cost, value_name = "USD", allow_negative_numbers = true)]
    pub max_cost: Option<f64>,

    /// Keep no snapshots of the working tree's turns
    #[arg(long)]
    pub no_snapshot: bool,

    /// An option for the agent, as it is (repeatable; it may start with `-`): added after the options zwarm sets, on every turn unless `inject --agent-arg` gives others. One zwarm sets itself (model, sandbox, directory, output, resume) is refused
    #[arg(long = "agent-arg", value_name = "ARG", allow_hyphen_values = true, action = clap::ArgAction::Append)]
    pub agent_args: Vec<String>,
}

#[derive(Args, Debug)]
pub(crate) struct DiffArgs {
    /// Session id or a unique prefix of it
    pub id: String,

    /// Only this turn's change [default: the whole session's]
    #[arg(short, long, value_name = "N")]
    pub turn: Option<u32>,

    /// Files and counts instead of the patch
    #[arg(long)]
    pub stat: bool,
}

#[derive(Args, Debug)]
pub(crate) struct ApplyArgs {
    /// Session id or a unique prefix of it
    pub id: String,

    /// Only this turn's change [default: the whole session's]
    #[arg(short, long, value_name = "N")]
    pub turn: Option<u32>,
}

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Only sessions with this status
    #[arg(long, value_parser = ["pending", "running", "completed", "failed", "killed"])]
    pub status: Option<String>,

    /// This store's sessions and every remote's at once; a remote that does not answer in time is shown stale, with its last known sessions
    #[arg(long)]
    pub all_hosts: bool,

    /// With --all-hosts: how long each remote may take
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DURATION", requires = "all_hosts")]
    pub host_timeout: std::time::Duration,
}

#[derive(Args, Debug)]
pub(crate) struct TopArgs {
    /// This store's sessions and every remote's; a remote that does not answer in time is shown stale, with its last known sessions
    #[arg(long)]
    pub all_hosts: bool,

    /// With --all-hosts or --host: how long each remote may take to list its sessions
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DURATION")]
    pub host_timeout: std::time::Duration,
}

#[derive(Args, Debug)]
pub(crate) struct RemoteArgs {
    #[command(subcommand)]
    pub command: RemoteCommand,
}

#[derive(Subcommand, Debug)]
pub(crate) enum RemoteCommand {
    /// Add a remote, once its host is checked
    #[command(
        after_help = "The host is checked first: ssh must reach it without a prompt (a key or an agent), \
        and its zwarm must answer `zwarm --json version` with this schema_version; else nothing is \
        added and the error says why (unreachable, authentication refused, zwarm missing, both versions).\n\n\
        Examples:\n  zwarm remote add build1 ci@build1.example.com --workdir /srv/checkout\n  \
        zwarm remote add gpu ssh://me@10.0.0.7:2222 --remote-dir /data/zwarm --zwarm '~/.cargo/bin/zwarm'\n  \
        zwarm remote add lab lab-alias -o IdentityFile=~/.ssh/lab -o ConnectTimeout=3"
    )]
    Add(RemoteAddArgs),
    /// The remotes, with their settings
    #[command(
        visible_alias = "list",
        after_help = "Examples:\n  zwarm remote ls\n  zwarm --json remote ls | jq -r '.remotes[].name'"
    )]
    Ls,
    /// Forget a remote (its sessions there keep running)
    #[command(after_help = "Examples:\n  zwarm remote rm gpu")]
    Rm(RemoteRmArgs),
}

#[derive(Args, Debug)]
pub(crate) struct RemoteAddArgs {
    /// What the remote is called here (letters, digits, `.`, `_`, `-`)
    pub name: String,
    /// Anything ssh accepts: user@host, an alias of ~/.ssh/config, ssh://user@host:port
    pub target: String,
    /// The store on that host (its `--dir`) [default: the host's own default]
    #[arg(long, value_name = "DIR")]
    pub remote_dir: Option<String>,
    /// Where `start --host` runs the agent without -C (a directory on that host)
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// The zwarm program on that host
    #[arg(long, value_name = "PATH", default_value = "zwarm")]
    pub zwarm: String,
    /// An option for ssh, as `ssh -o` takes it (repeatable)
    #[arg(short = 'o', value_name = "OPTION", action = clap::ArgAction::Append)]
    pub options: Vec<String>,
}

#[derive(Args, Debug)]
pub(crate) struct RemoteRmArgs {
    /// The remote's name
    pub name: String,
}

#[derive(Args, Debug)]
pub(crate) struct IdArg {
    /// Session id or a unique prefix of it
    pub id: String,
}

#[derive(Args, Debug)]
pub(crate) struct InjectArgs {
    /// Session id or a unique prefix of it
    pub id: String,
    /// The message (words are joined with spaces)
    #[arg(required = true, value_name = "MESSAGE")]
    pub message: Vec<String>,
    /// Stop this turn once its agent has run this long [default: the session's `start --timeout`]
    #[arg(long, value_parser = parse_timeout, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
    /// Shell command run after this turn ends [default: the session's `start --on-end`]
    #[arg(long, value_name = "CMD")]
    pub on_end: Option<String>,
    /// Start this turn only while fewer than N turns of the group run [default: the session's `start --max-running`]
    #[arg(long, value_parser = parse_max_running, value_name = "N")]
    pub max_running: Option<u32>,
    /// The group whose running turns --max-running counts [default: the session's `start --group`]
    #[arg(long, value_parser = parse_group, value_name = "NAME")]
    pub group: Option<String>,
    /// The session's token budget for this turn, counted over all its turns [default: the session's `start --max-tokens`]
    #[arg(long, value_parser = parse_max_tokens, value_name = "N", allow_negative_numbers = true)]
    pub max_tokens: Option<u64>,
    /// The session's cost budget in US dollars for this turn, counted over all its turns [default: the session's `start --max-cost`]
    #[arg(long, value_parser = parse_max_cost, value_name = "USD", allow_negative_numbers = true)]
    pub max_cost: Option<f64>,
    /// An option for the agent on this turn (repeatable; it may start with `-`), instead of the start's `--agent-arg`s [default: the start's]
    #[arg(long = "agent-arg", value_name = "ARG", allow_hyphen_values = true, action = clap::ArgAction::Append)]
    pub agent_args: Vec<String>,
}

#[derive(Args, Debug)]
pub(crate) struct RetryArgs {
    /// Session id or a unique prefix of it
    pub id: String,
    /// Wait until the account limit the latest turn met lifts (its `resets_at`)
    #[arg(long)]
    pub at_reset: bool,
}

#[derive(Args, Debug)]
pub(crate) struct KillArgs {
    /// Session ids or unique prefixes (or --all)
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
pub(crate) struct RmArgs {
    /// Session ids or unique prefixes
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Stop running sessions first instead of refusing; a worktree holding work its snapshots do not is snapshotted once more, then removed
    #[arg(short, long)]
    pub force: bool,
    /// Delete a worktree session's branch too, if its base branch holds all of it (else nothing is removed)
    #[arg(long)]
    pub delete_branch: bool,
}

#[derive(Args, Debug)]
pub(crate) struct TrajectoryArgs {
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
pub(crate) struct OutputArgs {
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
pub(crate) struct SuperviseArgs {
    pub state_dir: PathBuf,
    pub id: String,
    pub turn: u32,
}

/// `zwarm __supervise <store> <id> <turn>`, exactly as a launcher writes
/// it; None for anything else (which the full parser then judges).
pub(crate) fn supervise_args() -> Option<SuperviseArgs> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "__supervise" {
        return None;
    }
    let state_dir = PathBuf::from(args.next()?);
    let id = args.next()?.into_string().ok()?;
    let turn = args.next()?.into_string().ok()?.parse().ok()?;
    args.next().is_none().then_some(SuperviseArgs {
        state_dir,
        id,
        turn,
    })
}

#[derive(Args, Debug)]
pub(crate) struct WatchArgs {
    /// Session id or a unique prefix of it
    pub id: String,
    /// Show text and output in full instead of shortened
    #[arg(long)]
    pub full: bool,
}

#[derive(Args, Debug)]
pub(crate) struct WaitArgs {
    /// Session ids or unique prefixes
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Return as soon as any one of them ends
    #[arg(long)]
    pub any: bool,
    /// Give up after this long (e.g. 30s, 10m, 2h) with exit status 124
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
}

#[derive(Args, Debug)]
pub(crate) struct CleanArgs {
    /// Only sessions that ended longer ago than this (e.g. 12h, 7d)
    #[arg(long, value_parser = parse_duration, default_value = "7d", value_name = "DURATION")]
    pub older_than: std::time::Duration,
    /// Remove them (without it, only list what would be removed)
    #[arg(short, long)]
    pub yes: bool,
    /// Also drop the snapshot refs of sessions removed longer ago than --older-than
    #[arg(long)]
    pub snapshots: bool,
}

#[derive(Args, Debug)]
pub(crate) struct DoctorArgs {
    /// Repair what can be repaired without losing anything
    #[arg(long)]
    pub fix: bool,
}

#[derive(Args, Debug)]
pub(crate) struct McpArgs {
    /// Sessions started by this server that may be running (or pending) at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,

    /// The most a `start` may ask for (read-only < workspace-write < danger-full-access)
    #[arg(long, value_name = "MODE", default_value = "workspace-write", value_parser = ["read-only", "workspace-write", "danger-full-access"])]
    pub max_sandbox: String,

    /// A directory sessions may work in, with all below it (repeatable) [default: the current directory]
    #[arg(long = "root", value_name = "DIR")]
    pub roots: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
