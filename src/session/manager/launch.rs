//! Starting a turn: a new session's first, or the next of an existing one
//! (`inject`), run by a detached supervisor that reports back once the
//! agent is running.

use super::Manager;
use crate::agent::{AgentKind, PromptVia, TurnSpec};
use crate::error::{Error, Result};
use crate::process;
use crate::session::model::{
    is_valid_source, Message, ProcessRecord, Session, SessionStatus, TurnRecord, Usage,
};
use crate::session::settle::legacy_turn_record;
use crate::timefmt::Timestamp;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long a launcher waits for its supervisor to report.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// What `start` is asked for.
pub struct StartRequest {
    pub task: String,
    pub agent: AgentKind,
    pub model: Option<String>,
    pub sandbox: Option<String>,
    pub working_dir: PathBuf,
    pub source: String,
}

impl Manager {
    /// Creates a session and starts its first turn; returns once the turn is
    /// recorded as running (or as failed, if the agent could not start).
    pub fn start(&self, req: StartRequest) -> Result<Session> {
        if req.task.trim().is_empty() {
            return Err(Error::Usage("the task is empty".into()));
        }
        if !is_valid_source(&req.source) {
            return Err(Error::Usage(format!(
                "invalid source '{}': a source is `user` or `orchestrator:<id>`",
                req.source.escape_debug()
            )));
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
            prompt_via: PromptVia::Argument,
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
            rec.ending = Some(crate::session::model::Ending::AgentMissing);
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
