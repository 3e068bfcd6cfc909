//! `kill`, `rm` and `clean`: a line for each session acted on, and the
//! errors and notices around them.

use crate::error::Error;
use crate::model::Session;
use crate::render::controls::visible;
use crate::timefmt::compact_duration;

/// What `kill` or `rm` did to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    Killed,
    KilledAndRemoved,
    Removed,
}

impl Act {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Act::Killed => "killed",
            Act::KilledAndRemoved => "killed and removed",
            Act::Removed => "removed",
        }
    }
}

/// "killed 3f2a9c1e"; with how the session had ended, where that was not
/// by a kill.
pub(crate) fn acted(act: Act, s: &Session) -> String {
    let detail = match (&s.error, s.status.as_str()) {
        (Some(e), st) if st != "killed" => format!(" ({st}: {})", visible(e)),
        _ => String::new(),
    };
    format!("{} {}{detail}", act.as_str(), s.short_id())
}

/// The error of a kill that stopped the agent but could not record it.
pub(crate) fn unrecorded(s: &Session, e: &Error) -> String {
    format!(
        "stopped session {}'s agent, but could not record its ending: {e}",
        s.short_id()
    )
}

/// The hint under [`unrecorded`].
pub(crate) const UNRECORDED_HINT: &str =
    "its supervisor keeps trying, and records it once the store can be written";

/// `kill --all` with nothing running.
pub(crate) const NO_RUNNING_SESSIONS: &str = "no running sessions";

/// `clean`: a session removed, or with `removed` false, one that would be.
pub(crate) fn cleaned(s: &Session, removed: bool, worktree: Option<(u64, u64)>) -> String {
    let verb = if removed { "removed" } else { "would remove" };
    let age = compact_duration(s.ended_at().unwrap_or(s.updated_at).age_seconds());
    let mut line = format!("{verb} {} ({}, ended {age} ago)", s.short_id(), s.status);
    if let (Some((bytes, age)), Some(w)) = (worktree, &s.worktree) {
        line.push_str(&format!(
            "; its worktree {}: {:.1} MB, last changed {} ago",
            visible(&w.path),
            bytes as f64 / 1e6,
            compact_duration(age as f64)
        ));
    }
    line
}

/// `clean --snapshots`: the refs of a gone session, dropped or to be.
pub(crate) fn snapshots_dropped(id: &str, refs: usize, dropped: bool) -> String {
    let verb = if dropped { "dropped" } else { "would drop" };
    format!(
        "{verb} the {refs} snapshot ref{} of removed session {}",
        if refs == 1 { "" } else { "s" },
        crate::model::short(id)
    )
}

/// `clean --snapshots`: refs that could not be dropped.
pub(crate) fn snapshots_kept(id: &str, why: &str) -> String {
    format!(
        "the snapshots of removed session {} could not be dropped: {why}",
        crate::model::short(id)
    )
}

/// `clean`: a removal that failed.
pub(crate) fn not_removed(s: &Session, e: &Error) -> String {
    format!("session {} could not be removed: {e}", s.short_id())
}

pub(crate) const NOTHING_TO_CLEAN: &str = "nothing to clean";

pub(crate) const DRY_RUN: &str = "dry run: add --yes to remove them";

#[cfg(test)]
mod tests {
    use super::*;

    fn session(status: &str, error: Option<&str>) -> Session {
        serde_json::from_value(serde_json::json!({
            "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70",
            "task": "t", "status": status, "working_dir": "/w", "error": error,
            "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
        }))
        .unwrap()
    }

    #[test]
    fn an_acted_line_says_how_a_session_ended_when_not_by_the_kill() {
        let killed = session("killed", Some("killed by zwarm"));
        assert_eq!(acted(Act::Killed, &killed), "killed 3f2a9c1e");
        let failed = session("failed", Some("exit 2\x1b[2J"));
        assert_eq!(
            acted(Act::KilledAndRemoved, &failed),
            "killed and removed 3f2a9c1e (failed: exit 2^[[2J)"
        );
        assert_eq!(
            acted(Act::Removed, &session("completed", None)),
            "removed 3f2a9c1e"
        );
    }
}
