//! `list`: every session, newest first, optionally of one status.

use crate::session::manager::Manager;
use crate::session::model::{Session, SessionStatus};
use crate::store::LoadProblem;
use anyhow::Result;

pub fn list(manager: &Manager, status: Option<&str>) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
    let (mut sessions, problems) = manager.list_brief()?;
    if let Some(want) = status.and_then(SessionStatus::parse) {
        sessions.retain(|s| s.status == want);
    }
    Ok((sessions, problems))
}
