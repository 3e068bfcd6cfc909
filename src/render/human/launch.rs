//! `start` and `inject`: the line of a turn that runs, and the report of
//! one that could not start.

use crate::model::Session;

/// Which turn was launched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Launch {
    /// `start`: a new session's first turn.
    Start,
    /// `inject`: the next turn of a session.
    Inject,
}

/// What is printed once the turn runs: the session's id, and after
/// `inject` the turn's number.
pub(crate) fn launched(s: &Session, launch: Launch) -> String {
    match launch {
        Launch::Start => s.id.to_string(),
        Launch::Inject => format!("{} turn {}", s.id, s.turn),
    }
}

/// The error of a turn whose agent could not be started, with the reason
/// recorded in the session.
pub(crate) fn could_not_start(s: &Session, launch: Launch) -> String {
    let why = s.error.as_deref().unwrap_or("unknown reason");
    match launch {
        Launch::Start => format!("session {} could not start: {why}", s.short_id()),
        Launch::Inject => format!(
            "turn {} of session {} could not start: {why}",
            s.turn,
            s.short_id()
        ),
    }
}
