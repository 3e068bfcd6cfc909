//! `list`: every session, newest first, optionally of one status.

use crate::model::{Session, SessionStatus};
use crate::session::manager::Manager;
use crate::store::LoadProblem;
use anyhow::Result;

/// With `last_message`, each session keeps its last agent message.
pub fn list(
    manager: &Manager,
    status: Option<&str>,
    last_message: bool,
) -> Result<(Vec<Session>, Vec<LoadProblem>)> {
    let (mut sessions, problems) = manager.list_brief(last_message)?;
    if let Some(want) = status.and_then(SessionStatus::parse) {
        sessions.retain(|s| s.status == want);
    }
    Ok((sessions, problems))
}
