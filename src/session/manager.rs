//! The domain API: start, inject, kill, remove and read sessions. Commands
//! call this; it uses the store, the supervisor and the agent adapters.

use super::model::{Message, ProcessRecord, Session, SessionStatus, TurnRecord, Usage};
use super::settle::{legacy_turn_record, mark_never_started, settle, settle_orphan, TurnEnd};
use super::status::Vanished;
use crate::agent::{AgentKind, TurnSpec};
use crate::error::{Error, Result};
use crate::process;
use crate::store::{open_lock_file, LoadProblem, Store};
use crate::timefmt::Timestamp;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::Signal;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a launcher waits for its supervisor to report.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// A pending session with no supervisor this long after creation never started.
const PENDING_GRACE_SECS: f64 = 60.0;

pub struct StartRequest {
    pub task: String,
    pub agent: AgentKind,
    pub model: Option<String>,
    pub sandbox: Option<String>,
    pub working_dir: PathBuf,
    pub source: String,
}

/// What `kill` did to one session.
#[derive(Debug)]
pub struct Killed {
    pub session: Session,
}

/// What stands behind a session's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// The session is not active: its status is final.
    Ended,
    /// Its supervisor (or, without one, its agent) is alive.
    Alive,
    /// Being launched right now: no supervisor recorded yet.
    Launching,
    /// Active on disk, but its processes are gone.
    Orphaned(Vanished),
    /// A turn was recorded but its supervisor never reported in.
    NeverStarted,
}

pub struct Manager {
    store: Store,
    stall_after: Duration,
}

impl Manager {
    pub fn new(store: Store) -> Self {
        Manager {
            store,
            stall_after: super::stall::DEFAULT_STALL_AFTER,
        }
    }

    /// How long a running turn may only retry before it counts as stalled.
    pub fn with_stall_after(mut self, after: Duration) -> Self {
        self.stall_after = after;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The stall of a running session, if it has only retried for too long.
    pub fn stall(&self, session: &Session) -> Option<super::stall::Stall> {
        super::stall::detect(&self.store, session, self.stall_after)
    }

    pub fn stall_after(&self) -> Duration {
        self.stall_after
    }

    /// Creates a session and starts its first turn; returns once the turn is
    /// recorded as running (or as failed, if the agent could not start).
    pub fn start(&self, req: StartRequest) -> Result<Session> {
        if req.task.trim().is_empty() {
            return Err(Error::Usage("the task is empty".into()));
        }
        let working_dir = std::fs::canonicalize(&req.working_dir)
            .map_err(|e| Error::io("open", &req.working_dir, e))?;
        if !working_dir.is_dir() {
            return Err(Error::Usage(format!(
                "{} is not a directory",
                working_dir.display()
            )));
        }
        let now = Timestamp::now();
        let id = uuid::Uuid::new_v4().to_string();
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
            turns: vec![TurnRecord {
                turn: 1,
                started_at: Some(now),
                ..Default::default()
            }],
            other: Default::default(),
        };
        self.store.create(&session)?;
        let _guard = self.store.write_lock(&id)?;
        self.launch(&session, 1, &req.task, None)
    }

    /// Starts the next turn of a session's conversation. Refuses while a turn
    /// runs: agents do not take two writers on one conversation.
    pub fn inject(&self, prefix: &str, message: &str) -> Result<Session> {
        if message.trim().is_empty() {
            return Err(Error::Usage("the message is empty".into()));
        }
        let id = self.store.resolve(prefix)?;
        // Settle a turn that ended unrecorded before deciding it is busy.
        self.refresh(self.store.load(&id)?)?;
        let guard = self.store.write_lock(&id)?;
        let mut session = self.store.load(&id)?;
        if session.status.is_active() || self.supervisor_running(&id) {
            return Err(Error::Busy {
                id,
                turn: session.turn,
            });
        }
        agent_of(&session)?;
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
        session.turns.push(TurnRecord {
            turn,
            started_at: Some(now),
            resume_id: resume.clone(),
            ..Default::default()
        });
        session.updated_at = now;
        self.store.save(&session)?;
        let out = self.launch(&session, turn, &prompt, resume.as_deref());
        drop(guard);
        out
    }

    /// Spawns the supervisor for `turn` and records what it reports. The
    /// caller holds the session's write lock, so no one else starts a turn or
    /// settles this one meanwhile.
    fn launch(
        &self,
        session: &Session,
        turn: u32,
        prompt: &str,
        resume: Option<&str>,
    ) -> Result<Session> {
        let id = &session.id;
        let agent = agent_of(session)?;
        let program = match agent.locate() {
            Ok(p) => p,
            Err(why) => return self.record_spawn_failure(id, turn, why),
        };
        let working_dir = PathBuf::from(&session.working_dir);
        // A fresh conversation id for claude when there is nothing to resume
        // after the first turn: reusing zwarm's id would collide.
        let pinned = if turn == 1 {
            id.clone()
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        let spec = TurnSpec {
            prompt,
            model: Some(session.model.as_str()),
            sandbox: session.sandbox.as_deref(),
            working_dir: &working_dir,
            resume,
            session_id: &pinned,
        };
        let args = agent.args(&spec);
        let exe = std::env::current_exe()
            .map_err(|e| Error::io("locate", "zwarm's own executable", e))?;
        let log_path = self.store.session_dir(id).join("supervisor.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io("open", &log_path, e))?;
        let mut cmd = Command::new(exe);
        cmd.arg("__supervise")
            .arg(self.store.root())
            .arg(id)
            .arg(turn.to_string())
            .arg("--")
            .arg(&program)
            .args(&args)
            // Started from inside another session's agent (an orchestrator),
            // the supervisor must not pass for one of that session's processes.
            .env_remove(process::SESSION_ENV)
            .env_remove(process::STORE_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        unsafe {
            // Its own session: no terminal, no signals from the caller's shell.
            cmd.pre_exec(|| {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return self.record_spawn_failure(
                    id,
                    turn,
                    format!("cannot start zwarm's supervisor: {e}"),
                )
            }
        };
        let supervisor = ProcessRecord {
            pid: child.id() as i32,
            start_time: process::stat(child.id() as i32)
                .map(|s| s.start_time)
                .unwrap_or(0),
        };
        let line = read_report(child.stdout.take().expect("piped"), READY_TIMEOUT);
        match parse_report(&line) {
            Report::Ready(agent_rec) => {
                let mut s = self.store.load(id)?;
                s.status = SessionStatus::Running;
                s.pid = Some(supervisor.pid);
                if let Some(rec) = s.turns.iter_mut().rev().find(|t| t.turn == turn) {
                    rec.supervisor = Some(supervisor);
                    rec.agent = Some(agent_rec);
                    rec.boot_id = process::boot_id();
                }
                s.updated_at = Timestamp::now();
                self.store.save(&s)?;
                Ok(s)
            }
            Report::Error(why) => {
                let _ = child.wait();
                self.record_spawn_failure(id, turn, why)
            }
            Report::Nothing => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let why = log
                    .lines()
                    .last()
                    .unwrap_or("the supervisor exited without reporting")
                    .to_string();
                self.record_spawn_failure(id, turn, format!("zwarm's supervisor failed: {why}"))
            }
        }
    }

    /// Records that the agent could not be started. The caller holds the
    /// write lock, so this writes directly.
    fn record_spawn_failure(&self, id: &str, turn: u32, why: String) -> Result<Session> {
        let mut s = self.store.load(id)?;
        if let Some(rec) = s.turns.iter_mut().rev().find(|t| t.turn == turn) {
            rec.ending = Some(super::model::Ending::AgentMissing);
            rec.ended_at = Some(Timestamp::now());
            rec.error = Some(why.clone());
            rec.settled_by = Some("launcher".into());
        }
        s.status = SessionStatus::Failed;
        s.error = Some(why);
        s.updated_at = Timestamp::now();
        self.store.save(&s)?;
        Ok(s)
    }

    /// Resolves an id prefix and returns the session with its status settled.
    pub fn get(&self, prefix: &str) -> Result<Session> {
        let id = self.store.resolve(prefix)?;
        self.refresh(self.store.load(&id)?)
    }

    /// Every session, newest first, with statuses settled; sessions that could
    /// not be read are returned apart.
    pub fn list(&self) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
        let (sessions, mut problems) = self.store.load_all()?;
        let mut out = Vec::with_capacity(sessions.len());
        for s in sessions {
            let id = s.id.clone();
            match self.refresh(s) {
                Ok(s) => out.push(s),
                Err(error) => problems.push(LoadProblem { id, error }),
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok((out, problems))
    }

    /// [`Manager::list`] for display: finished sessions hold only what
    /// `list` shows (see [`super::brief`]), which is most of what makes
    /// listing thousands fast. Active ones are read whole and settled.
    pub fn list_brief(&self, last_message: bool) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
        let (sessions, mut problems) = self.store.load_all_brief(last_message)?;
        let mut out = Vec::with_capacity(sessions.len());
        for s in sessions {
            if !s.status.is_active() {
                out.push(s);
                continue;
            }
            match self.store.load(&s.id).and_then(|s| self.refresh(s)) {
                Ok(s) => out.push(s),
                Err(error) => problems.push(LoadProblem { id: s.id, error }),
            }
        }
        // Newest first, ties by id as `list` has always shown them. The
        // order is found on indices: sorting thousands of sessions in place
        // moves hundreds of bytes per swap.
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (&out[a], &out[b]);
            b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id))
        });
        let mut slots: Vec<Option<Session>> = out.into_iter().map(Some).collect();
        let out = order.into_iter().filter_map(|i| slots[i].take()).collect();
        Ok((out, problems))
    }

    /// True while a supervisor holds the session's run lock.
    pub fn supervisor_running(&self, id: &str) -> bool {
        let path = self.store.run_lock_path(id);
        if !path.exists() {
            return false;
        }
        let Ok(file) = open_lock_file(&path) else {
            return false;
        };
        // Shared: only the supervisor's exclusive lock refuses it. An
        // exclusive probe would also fail while another reader probes, or
        // while `wait` holds it shared as a turn ends.
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(_held) => false,
            Err(_) => true,
        }
    }

    /// Settles a session that claims to be active but has nothing behind it.
    /// The process is the truth: a held run lock, or the recorded agent
    /// process still alive, means it runs.
    pub fn refresh(&self, session: Session) -> Result<Session> {
        match self.assess(&session) {
            Liveness::Ended | Liveness::Alive | Liveness::Launching => Ok(session),
            Liveness::Orphaned(vanished) => settle_orphan(&self.store, &session, vanished),
            Liveness::NeverStarted => mark_never_started(
                &self.store,
                &session.id,
                "zwarm's supervisor never started for this turn",
            ),
        }
    }

    /// What is behind a session's status, without changing anything.
    pub fn assess(&self, session: &Session) -> Liveness {
        if !session.status.is_active() {
            return Liveness::Ended;
        }
        if self.supervisor_running(&session.id) {
            return Liveness::Alive;
        }
        let Some(rec) = session.current_turn() else {
            // Written by zwarm 2.3.5: the agent itself is `pid`, and there is
            // no lock; an alive pid is the best evidence there is.
            return if legacy_agent(session).is_some() {
                Liveness::Alive
            } else {
                Liveness::Orphaned(Vanished::Supervisor)
            };
        };
        if !rec.is_open() {
            return Liveness::Ended;
        }
        let rebooted =
            matches!((&rec.boot_id, process::boot_id()), (Some(then), Some(now)) if *then != now);
        if rebooted {
            return Liveness::Orphaned(Vanished::Reboot);
        }
        if rec.agent.as_ref().is_some_and(process::is_alive) {
            // The supervisor died but the agent works on; it is running.
            return Liveness::Alive;
        }
        if rec.supervisor.is_none() {
            let young = session.created_at.age_seconds() < PENDING_GRACE_SECS
                && rec
                    .started_at
                    .is_some_and(|t| t.age_seconds() < PENDING_GRACE_SECS);
            return if young {
                Liveness::Launching
            } else {
                Liveness::NeverStarted
            };
        }
        Liveness::Orphaned(Vanished::Supervisor)
    }

    /// Blocks until the session's current turn has ended and is recorded, then
    /// returns the session. Sleeps in the kernel: on the supervisor's lock, or,
    /// if the supervisor is gone, on the agent process itself.
    pub fn block_until_ended(&self, id: &str) -> Result<Session> {
        loop {
            let session = self.refresh(self.store.load(id)?)?;
            if !session.status.is_active() {
                return Ok(session);
            }
            let path = self.store.run_lock_path(id);
            if self.supervisor_running(id) {
                // A shared lock is granted the moment the supervisor exits,
                // which is after it recorded the ending.
                let file = open_lock_file(&path)?;
                drop(
                    Flock::lock(file, FlockArg::LockShared)
                        .map_err(|(_, e)| Error::io("lock", &path, e.into()))?,
                );
                continue;
            }
            match session.current_turn().and_then(|t| t.agent) {
                Some(agent) if process::is_alive(&agent) => process::wait_for_exit(&agent),
                // Being launched: the supervisor takes its lock within moments.
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Stops the running turn of a session and its whole process tree, and
    /// returns once the ending is recorded.
    pub fn kill(&self, prefix: &str) -> Result<Killed> {
        let id = self.store.resolve(prefix)?;
        let session = self.refresh(self.store.load(&id)?)?;
        if !session.status.is_active() {
            return Err(Error::NotRunning {
                id: session.id.clone(),
                status: session.status.to_string(),
                action: "kill",
            });
        }
        let turn = session.turn;
        let rec = self.store.update(&id, |s| {
            let rec = s.current_turn_mut().map(|r| {
                r.stop_requested_at.get_or_insert_with(Timestamp::now);
                r.clone()
            });
            Ok(rec)
        })?;
        let Some(rec) = rec else {
            // 2.3.5 session: signal its recorded process group.
            if let Some(pid) = legacy_agent(&session) {
                process::signal_group_if_same(&pid, Signal::SIGTERM);
            }
            let s = self.store.update(&id, |s| {
                s.status = SessionStatus::Killed;
                s.error = Some("killed by zwarm".into());
                Ok(s.clone())
            })?;
            return Ok(Killed { session: s });
        };
        let deadline =
            Instant::now() + Duration::from_secs(u64::from(crate::supervisor::GRACE_SECS) + 10);
        if let Some(sup) = rec.supervisor.filter(|_| self.supervisor_running(&id)) {
            // The supervisor stops the agent's group and records the kill.
            process::signal_if_same(&sup, Signal::SIGTERM);
            while self.supervisor_running(&id) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        } else if let Some(agent) = rec.agent {
            // No supervisor: stop the agent's group ourselves.
            process::signal_group_if_same(&agent, Signal::SIGTERM);
            let grace =
                Instant::now() + Duration::from_secs(u64::from(crate::supervisor::GRACE_SECS));
            while process::is_alive(&agent) && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(10));
            }
            process::signal_group_if_same(&agent, Signal::SIGKILL);
            if let Some(sup) = rec.supervisor {
                process::signal_session(sup.pid, Signal::SIGKILL, -1);
            }
        }
        let session = self.store.load(&id)?;
        let session = match session.current_turn() {
            Some(r) if r.is_open() && !self.supervisor_running(&id) => settle(
                &self.store,
                &id,
                turn,
                TurnEnd {
                    vanished: Some(Vanished::Supervisor),
                    settled_by: "reader",
                    ..Default::default()
                },
            )?,
            _ => session,
        };
        Ok(Killed { session })
    }

    /// Deletes a finished session; with `force`, stops a running one first.
    pub fn remove(&self, prefix: &str, force: bool) -> Result<Session> {
        let id = self.store.resolve(prefix)?;
        let mut session = self.refresh(self.store.load(&id)?)?;
        if session.status.is_active() {
            if !force {
                return Err(Error::Busy {
                    id,
                    turn: session.turn,
                });
            }
            // Report the session as it was removed (killed), not as it ran.
            session = self.kill(&id)?.session;
        }
        self.store.remove(&id)?;
        Ok(session)
    }
}

/// The agent process a zwarm 2.3.5 session recorded (a pid, no start
/// time), if the live process with that pid can be it: one that started
/// after the session was last written reused the pid and is a stranger.
fn legacy_agent(session: &Session) -> Option<ProcessRecord> {
    let rec = process::record(session.pid?).filter(process::is_alive)?;
    let started = process::started_secs_ago(rec.pid)?;
    // A second of slack: the two clocks have different resolutions.
    (started + 1.0 >= session.updated_at.age_seconds()).then_some(rec)
}

fn agent_of(session: &Session) -> Result<&'static dyn crate::agent::Agent> {
    AgentKind::from_meta(&session.adapter)
        .map(AgentKind::adapter)
        .ok_or_else(|| {
            Error::Usage(format!(
                "session {} uses the unknown adapter '{}'",
                session.short_id(),
                session.adapter
            ))
        })
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
    Ready(ProcessRecord),
    Error(String),
    Nothing,
}

fn parse_report(line: &str) -> Report {
    let line = line.trim_end();
    if let Some(rest) = line.strip_prefix("ready ") {
        let mut it = rest.split(' ');
        if let (Some(Ok(pid)), Some(Ok(start_time))) =
            (it.next().map(str::parse), it.next().map(str::parse))
        {
            return Report::Ready(ProcessRecord { pid, start_time });
        }
    }
    match line.strip_prefix("error ") {
        Some(why) => Report::Error(why.to_string()),
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
