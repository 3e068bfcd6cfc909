//! Starting a turn: a new session's first, or the next of an existing one
//! (`inject`), run by a detached supervisor that reports back once the
//! agent is running.

use super::Manager;
use crate::agent::{agent_args, AgentKind, PromptVia, TurnSpec};
use crate::error::{Error, Result};
use crate::model::{
    is_valid_source, Budget, Closing, Ending, Message, QueueRecord, Session, SessionId,
    SessionStatus, SettledBy, TurnRecord, Usage, WorktreeRecord,
};
use crate::process;
use crate::rights::Record;
use crate::session::budget;
use crate::session::depth::{Depth, DEPTH_ENV, MAX_DEPTH_ENV};
use crate::session::handover::{LaunchRequest, LOCK_FD};
use crate::session::settle::legacy_turn_record;
use crate::store::WriteGuard;
use crate::timefmt::Timestamp;
use nix::sys::signal::Signal;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long a launcher waits for its supervisor to report.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// What `start` is asked for.
pub(crate) struct StartRequest {
    pub task: String,
    pub agent: AgentKind,
    pub model: Option<String>,
    pub sandbox: Option<String>,
    pub working_dir: PathBuf,
    pub source: String,
    /// A git worktree of its own for the session (`start --worktree`).
    pub worktree: Option<WorktreeRequest>,
    /// How long each turn's agent may run (`--timeout`), unless an
    /// `inject` says otherwise.
    pub timeout: Option<std::time::Duration>,
    /// A shell command run after each turn (`--on-end`), unless an
    /// `inject` says otherwise.
    pub on_end: Option<String>,
    /// What the session may spend in all its turns (`--max-tokens`,
    /// `--max-cost`), unless an `inject` says otherwise.
    pub budget: Budget,
    /// Keep each turn's working tree as snapshot commits (where it is in a
    /// git repository).
    pub snapshots: bool,
    /// `--max-running` and `--group`: defaults for later turns too.
    pub queue: QueueOptions,
    /// Sessions whose latest turns must complete first (`--after`), as
    /// given (ids or prefixes).
    pub after: Vec<String>,
    /// Options given to the agent as they are (`--agent-arg`), unless an
    /// `inject` gives its own.
    pub agent_args: Vec<String>,
}

/// How a turn is queued (`--max-running N`, `--group G`).
#[derive(Clone, Debug, Default)]
pub(crate) struct QueueOptions {
    pub max_running: Option<u32>,
    pub group: Option<String>,
}

/// What an `inject` may set for its turn, each defaulting to the session's.
#[derive(Clone, Debug, Default)]
pub(crate) struct TurnOptions {
    /// The turn starts no earlier (`retry --at-reset`).
    pub not_before: Option<Timestamp>,
    pub timeout: Option<std::time::Duration>,
    pub on_end: Option<String>,
    pub queue: QueueOptions,
    /// `--max-tokens`/`--max-cost`: the session's budget as of this turn.
    pub budget: Budget,
    /// `--agent-arg`s for this turn, instead of the start's.
    pub agent_args: Option<Vec<String>>,
}

/// `start --worktree[=NAME] [--base REF]`.
pub(crate) struct WorktreeRequest {
    /// The branch is `zwarm/<name>`, else `zwarm/<short id>`.
    pub name: Option<String>,
    pub base: String,
    /// A shell command run in the worktree before the agent starts.
    pub setup: Option<String>,
    /// zwarm commits each turn's result on the branch.
    pub commit_turns: bool,
}

impl Manager {
    /// Creates a session and starts its first turn; returns once the turn is
    /// recorded as running (or as failed, if the agent could not start).
    pub(crate) fn start(&self, req: StartRequest) -> Result<Session> {
        if req.task.trim().is_empty() {
            return Err(Error::Usage("the task is empty".into()));
        }
        let depth = Depth::of_caller();
        if !depth.may_start() {
            return Err(Error::TooDeep {
                depth: depth.depth,
                max: depth.max,
            });
        }
        if !is_valid_source(&req.source) {
            return Err(Error::Usage(format!(
                "invalid source '{}': a source is `user` or `orchestrator:<id>`",
                req.source.escape_debug()
            )));
        }
        budget::check_agent(req.agent.adapter(), req.agent.display_name(), &req.budget)?;
        agent_args::check(
            req.agent.adapter(),
            req.agent.display_name(),
            &req.agent_args,
        )
        .map_err(Error::Usage)?;
        let working_dir = std::fs::canonicalize(&req.working_dir)
            .map_err(|e| Error::io("open", &req.working_dir, e))?;
        if !working_dir.is_dir() {
            return Err(Error::Usage(format!(
                "{} is not a directory",
                working_dir.display()
            )));
        }
        // Every dependency named exists before anything is made: an unknown
        // one is the caller's mistake, not a session that fails later.
        let mut after: Vec<String> = Vec::new();
        for prefix in &req.after {
            let dep = self.store.resolve(prefix)?;
            if !after.contains(&dep) {
                after.push(dep);
            }
        }
        let now = Timestamp::now();
        let id = SessionId::random();
        // The store exists first: the worktree lives in it, and the rights
        // record names it by the path every later turn finds it at.
        self.store.sessions(true)?;
        let made = match &req.worktree {
            Some(w) => Some(self.make_worktree(&id, &working_dir, w)?),
            None => None,
        };
        let worktree = made.as_ref().map(|m| WorktreeRecord {
            path: m.path.to_string_lossy().into_owned(),
            branch: m.branch.clone(),
            base: m.base.clone(),
            base_branch: m.base_branch.clone(),
            repo: m.repo.to_string_lossy().into_owned(),
            dirty: None,
            ahead: None,
            commit_turns: req.worktree.as_ref().is_some_and(|w| w.commit_turns),
        });
        let working_dir = worktree
            .as_ref()
            .map_or(working_dir, |w| PathBuf::from(&w.path));
        let git = crate::git::Git::at(&working_dir);
        let snapshots = req.snapshots && git.toplevel().is_ok();
        if snapshots || worktree.is_some() {
            if let Ok(common) = git.common_dir() {
                self.store.remember_repo(&common)?;
            }
        }
        let session = Session {
            id: id.clone(),
            task: req.task.clone(),
            status: SessionStatus::Pending,
            working_dir: working_dir.to_string_lossy().into_owned(),
            created_at: now,
            updated_at: now,
            pid: None,
            exit_code: None,
            model: req.model.clone().unwrap_or_default(),
            turn: 1,
            messages: vec![Message::new("user", req.task.clone(), 1)],
            token_usage: Usage::default(),
            error: None,
            source: req.source,
            adapter: req.agent.meta_name().to_string(),
            sandbox: req.sandbox.clone(),
            cost_usd: None,
            agent_session_id: None,
            turns: vec![{
                let mut first = TurnRecord::open(1, Some(now));
                first.timeout_secs = timeout_secs(req.timeout);
                first.on_end.clone_from(&req.on_end);
                first.queue = queue_record(&req.queue, after);
                first.budget = req.budget;
                first.agent_args.clone_from(&req.agent_args);
                first
            }],
            timeout_secs: timeout_secs(req.timeout),
            on_end: req.on_end.clone(),
            agent_args: req.agent_args.clone(),
            group: req.queue.group.clone(),
            max_running: req.queue.max_running,
            budget: req.budget,
            worktree,
            snapshots,
            other: Default::default(),
        };
        // The settings that decide the agent's rights, kept where it cannot
        // write, before the session exists: a session without its record
        // would be trusted on its meta.json alone.
        let rights = self.rights(&id)?;
        let root = self.canonical_root();
        rights
            .mark_store(&root)
            .and_then(|()| rights.save(&Record::of(&session, &root)))
            .map_err(|source| Error::Rights {
                id: id.to_string(),
                source,
            })?;
        // Created locked: the first turn is launched before anyone may
        // decide anything about the new session.
        let guard = self.store.create(&session)?;
        if let (Some(made), Some(w)) = (&made, &req.worktree) {
            if let Some(failed) = self.set_up_worktree(&guard, &id, made, w.setup.as_deref())? {
                return Ok(failed);
            }
        }
        self.launch(guard, session, 1, &req.task, None)
    }

    /// Starts the next turn of a session's conversation. Refuses while a turn
    /// runs: agents do not take two writers on one conversation.
    pub(crate) fn inject(
        &self,
        prefix: &str,
        message: &str,
        options: &TurnOptions,
    ) -> Result<Session> {
        if message.trim().is_empty() {
            return Err(Error::Usage("the message is empty".into()));
        }
        let id = self.store.resolve(prefix)?;
        // A session that cannot be read is refused before anything, even a
        // lock file, is written into its folder.
        self.store.load(&id)?;
        let guard = self.store.write_lock_within(&id, super::LOCK_PATIENCE)?;
        let session = guard.load()?;
        let agent = agent_of(&session)?;
        budget::check_agent(agent, agent.program(), &options.budget)?;
        if let Some(args) = &options.agent_args {
            agent_args::check(agent, agent.program(), args).map_err(Error::Usage)?;
        }
        // Settle a turn that ended unrecorded before deciding it is busy.
        let settled = self.settle_proven(&guard, session)?;
        if let Some(e) = settled.unsaved {
            return Err(e);
        }
        let mut session = settled.session;
        if session.status.is_active() || self.supervisor_running(&id) {
            return Err(Error::Busy {
                id,
                turn: session.turn,
            });
        }
        self.check_rights(&session)?;
        let spend = options.budget.or(session.budget);
        budget::refuse_if_spent(&session, &spend)?;
        // Checked here, before anything is written: the supervisor could only
        // report that the agent "cannot start". Sessions copied from another
        // machine (or by zwarm 2.3.5 elsewhere) name folders that may not exist.
        std::fs::read_dir(&session.working_dir)
            .map_err(|e| Error::io("open the working directory", &session.working_dir, e))?;
        if let Some(rec) = legacy_turn_record(&self.store, &session) {
            session.agent_session_id = rec.agent_session_id.clone();
            session.turns.push(rec);
        }
        let turn = session.turn + 1;
        let resume = session.agent_session_id.clone();
        if let Some(conversation) = resume.as_deref() {
            // It reaches the agent's argv: anything but an id of the agent's
            // own format (a flag, a config override, a name) is refused.
            if !agent.valid_conversation_id(conversation) {
                return Err(Error::BadValue {
                    id: session.id.to_string(),
                    key: "agent_session_id",
                    value: first_chars(conversation, 80),
                    why: "is not a conversation id of this agent",
                });
            }
        }
        let prompt = match &resume {
            Some(_) => message.to_string(),
            // Without a conversation id the agent cannot resume; give it the
            // conversation so far as text instead.
            None => transcript_prompt(&session, message),
        };
        let now = Timestamp::now();
        session.turn = turn;
        session.status = SessionStatus::Pending;
        session.error = None;
        session.exit_code = None;
        session.messages.push(Message::new("user", message, turn));
        let mut record = TurnRecord::open(turn, Some(now));
        record.resume_id.clone_from(&resume);
        record.timeout_secs = timeout_secs(options.timeout).or(session.timeout_secs);
        record.on_end = options.on_end.clone().or_else(|| session.on_end.clone());
        // The start's come from meta.json, which `check_rights` has just
        // compared with the record kept where the agent cannot write.
        record.agent_args = options
            .agent_args
            .clone()
            .unwrap_or_else(|| session.agent_args.clone());
        let queue = QueueOptions {
            max_running: options.queue.max_running.or(session.max_running),
            group: options
                .queue
                .group
                .clone()
                .or_else(|| session.group.clone()),
        };
        record.queue = queue_record(&queue, Vec::new());
        if let Some(t) = options.not_before {
            record
                .queue
                .get_or_insert_with(QueueRecord::default)
                .not_before = Some(t);
        }
        record.budget = spend;
        session.turns.push(record);
        guard.save(&mut session)?;
        self.launch(guard, session, turn, &prompt, resume.as_deref())
    }

    /// Spawns the supervisor for `turn`, handing it the write lock, and
    /// returns the session as the supervisor recorded it (or as failed).
    /// The lock is held throughout, so no reader settles the turn and no one
    /// else starts one meanwhile; should this process die, the supervisor
    /// still holds it until the turn is recorded running.
    fn launch(
        &self,
        guard: WriteGuard,
        mut session: Session,
        turn: u32,
        prompt: &str,
        resume: Option<&str>,
    ) -> Result<Session> {
        let id = session.id.clone();
        let agent = agent_of(&session)?;
        let waits = session
            .current_turn()
            .and_then(|t| t.queue.as_ref())
            .is_some_and(|q| {
                q.max_running.is_some() || !q.after.is_empty() || q.not_before.is_some()
            });
        if !waits {
            // Started by hand: an account limit nobody knows the end of is
            // tried again (the queue waits out only known resets then).
            if let Ok(limits) = crate::queue::limits::Limits::open(self.store.root(), false) {
                limits.clear(&session.adapter, true);
            }
        }
        let program = match agent.locate() {
            Ok(p) => p,
            Err(why) => return self.record_launch_failure(&guard, turn, Ending::AgentMissing, why),
        };
        // The working tree before the agent can change it, taken here and
        // not by the supervisor: a first snapshot of a large tree may take
        // longer than a supervisor is given to report.
        let snapshot = crate::session::snapshots::at_start(&session, turn, &self.canonical_root());
        if snapshot.is_some() {
            if let Some(rec) = session.current_turn_mut() {
                rec.snapshot = snapshot;
            }
            guard.save(&mut session)?;
        }
        let working_dir = PathBuf::from(&session.working_dir);
        // A fresh conversation id for claude when there is nothing to resume
        // after the first turn: reusing zwarm's id would collide.
        let pinned = if turn == 1 {
            id.to_string()
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        let prompt_via = PromptVia::for_prompt(prompt);
        let spec = TurnSpec {
            prompt,
            prompt_via,
            model: Some(session.model.as_str()),
            sandbox: session.sandbox.as_deref(),
            working_dir: &working_dir,
            resume,
            session_id: &pinned,
            max_budget_usd: budget::cost_left(&session),
            agent_args: session
                .current_turn()
                .map_or(&[][..], |t| t.agent_args.as_slice()),
        };
        let request = LaunchRequest {
            program: program.into_os_string(),
            args: agent.args(&spec),
            working_dir: working_dir.clone(),
            stdin: (prompt_via == PromptVia::Stdin).then(|| prompt.as_bytes().to_vec()),
        };
        test_hook_stop("ZWARM_TEST_STOP_BEFORE_SUPERVISOR");
        let exe = std::env::current_exe()
            .map_err(|e| Error::io("locate", "zwarm's own executable", e))?;
        let log_path = self.store.session_dir(&id).join("supervisor.log");
        let log = match guard.dir().append_file("supervisor.log", 0o666) {
            Ok(log) => log,
            Err(e) => {
                let why = Error::io("open", &log_path, e).to_string();
                self.record_launch_failure(&guard, turn, Ending::Failed, why.clone())?;
                return Err(Error::io("open", &log_path, std::io::Error::other(why)));
            }
        };
        let depth = Depth::of_caller();
        let mut cmd = Command::new(exe);
        cmd.arg("__supervise")
            .arg(self.store.root())
            .arg(id.as_str())
            .arg(turn.to_string())
            // Started from inside another session's agent (an orchestrator),
            // the supervisor must not pass for one of that session's
            // processes; it is marked as this session's supervisor instead,
            // which is how `kill` knows it before signalling it.
            .env_remove(process::SESSION_ENV)
            .env(process::SUPERVISOR_ENV, id.as_str())
            // Inherited by the agent and all it starts: see `session::depth`.
            .env(DEPTH_ENV, depth.child().to_string())
            .env(MAX_DEPTH_ENV, depth.max.to_string())
            .env(process::STORE_ENV, self.canonical_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        let lock_fd = guard.lock_fd();
        // SAFETY: between fork and exec only async-signal-safe calls: setsid,
        // dup2 and fcntl.
        unsafe {
            cmd.pre_exec(move || {
                // Its own session: no terminal, no signals from the caller's shell.
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                // The write lock, handed over at a known number. dup2 onto
                // itself would keep close-on-exec set, so clear it then.
                if lock_fd == LOCK_FD {
                    if libc::fcntl(LOCK_FD, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(lock_fd, LOCK_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return self.record_launch_failure(
                    &guard,
                    turn,
                    Ending::Failed,
                    format!("cannot start zwarm's supervisor: {e}"),
                )
            }
        };
        // The request is read whole before the supervisor does anything, so
        // a long prompt cannot fill the pipe while it waits on us.
        let sent = child
            .stdin
            .take()
            .map(|mut pipe| pipe.write_all(&request.encode()));
        let line = match (sent, child.stdout.take()) {
            (Some(Ok(())), Some(out)) => read_report(out, READY_TIMEOUT),
            _ => String::new(),
        };
        match parse_report(&line) {
            Report::Ready => {
                drop(child);
                guard.load()
            }
            Report::Error(ending, why) => {
                let _ = child.wait();
                self.record_launch_failure(&guard, turn, ending, why)
            }
            Report::Nothing => {
                // Silent or too slow: it and anything it started go, before
                // the turn is recorded as never having started.
                process::signal_session(child.id() as i32, Signal::SIGKILL, -1);
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let why = log
                    .lines()
                    .last()
                    .unwrap_or("the supervisor exited without reporting")
                    .to_string();
                self.record_launch_failure(
                    &guard,
                    turn,
                    Ending::Failed,
                    format!("zwarm's supervisor failed: {why}"),
                )
            }
        }
    }

    /// Records that the turn could not be started, under the launch's lock.
    fn record_launch_failure(
        &self,
        guard: &WriteGuard,
        turn: u32,
        ending: Ending,
        why: String,
    ) -> Result<Session> {
        let mut s = guard.load()?;
        let closing = Closing::now(ending, SettledBy::Launcher, Some(why.clone()));
        if !s.close_turn(turn, closing) {
            // The record was rewritten by a writer that ignored the lock:
            // the session still must not read as being launched.
            s.status = SessionStatus::Failed;
            s.error = Some(why);
        }
        guard.save(&mut s)?;
        Ok(s)
    }
}

/// At most `n` characters of `s`, for quoting a value in an error.
fn first_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Stops this process where a test asks it to (the variable names a moment
/// of a launch), so that tests can hold a launch at that moment for as long
/// as they like and prove that nothing is decided about it meanwhile.
fn test_hook_stop(var: &str) {
    if std::env::var_os(var).is_some() {
        let _ = nix::sys::signal::raise(Signal::SIGSTOP);
    }
}

fn agent_of(session: &Session) -> Result<&'static dyn crate::agent::Agent> {
    Ok(session.agent()?.adapter())
}

/// The conversation so far as one prompt, for agents that cannot resume.
fn transcript_prompt(session: &Session, message: &str) -> String {
    let mut out = String::from("Continue the following conversation:\n\n");
    for m in &session.messages {
        let who = match m.role.as_str() {
            "user" => "USER",
            "assistant" => "ASSISTANT",
            _ => continue,
        };
        out.push_str(&format!("{who}: {}\n\n", m.content));
    }
    out.push_str(&format!("USER: {message}\n"));
    out
}

enum Report {
    Ready,
    /// The turn could not be started: its ending, and why.
    Error(Ending, String),
    Nothing,
}

fn parse_report(line: &str) -> Report {
    let line = line.trim_end();
    // Recorded pending (it waits for its turn in the queue), or ended
    // without an agent (a dependency failed): the record says which.
    if line == "ended"
        || line
            .strip_prefix("queued ")
            .is_some_and(|pid| pid.parse::<i32>().is_ok())
    {
        return Report::Ready;
    }
    if let Some(rest) = line.strip_prefix("ready ") {
        let mut it = rest.split(' ');
        if let (Some(Ok(_pid)), Some(Ok(_start_time))) = (
            it.next().map(str::parse::<i32>),
            it.next().map(str::parse::<u64>),
        ) {
            return Report::Ready;
        }
    }
    match line.strip_prefix("error ") {
        // The agent's program itself could not be run.
        Some(why) => match why.strip_prefix("missing ") {
            Some(why) => Report::Error(Ending::AgentMissing, why.to_string()),
            None => Report::Error(Ending::Failed, why.to_string()),
        },
        None => Report::Nothing,
    }
}

/// Reads the supervisor's one-line report, giving up after `timeout`.
fn read_report(stdout: std::process::ChildStdout, timeout: Duration) -> String {
    use std::os::fd::AsFd;
    let fd = stdout.as_fd();
    let mut pfd = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(ms)) {
        Ok(n) if n > 0 => {}
        _ => return String::new(),
    }
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    line
}

/// A turn's queue record, if it has anything to wait for or count in.
fn queue_record(queue: &QueueOptions, after: Vec<String>) -> Option<QueueRecord> {
    let record = QueueRecord {
        group: queue.group.clone(),
        max_running: queue.max_running,
        after,
        ticket: None,
        queued_at: None,
        not_before: None,
    };
    (record != QueueRecord::default()).then_some(record)
}

/// A `--timeout` in whole seconds, rounded up: the deadline is never early.
fn timeout_secs(timeout: Option<std::time::Duration>) -> Option<u64> {
    timeout.map(|t| t.as_secs() + u64::from(t.subsec_nanos() > 0))
}
