//! `list`: every session, newest first, optionally of one status.

use super::{Ctx, Outcome};
use crate::cli::ListArgs;
use crate::model::{Session, SessionStatus};
use crate::render::{self, human, json};
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &ListArgs) -> Result<Outcome> {
    // With --json, each session keeps its last agent message.
    let (mut sessions, problems) = ctx.manager.list_brief(ctx.json())?;
    keep_status(&mut sessions, a.status.as_deref());
    for pr in &problems {
        render::warning(&ctx.style(), &human::skipped(&pr.id, &pr.error));
    }
    let stalls: Vec<_> = sessions.iter().map(|s| ctx.manager.stall(s)).collect();
    let places: Vec<_> = sessions
        .iter()
        .map(|s| ctx.manager.queue_place(s))
        .collect();
    if ctx.json() {
        ctx.p
            .json_doc(&json::ListJson::new(&sessions, &stalls, &places, &problems))?;
    } else {
        // About a terminal line a session: grown once, not doubled a dozen
        // times for thousands of rows.
        let mut table = String::with_capacity((sessions.len() + 2) * 128);
        human::list(
            &ctx.style(),
            &sessions,
            &stalls,
            &places,
            terminal_width(),
            &mut table,
        );
        ctx.p.text(&table)?;
    }
    // The process ends with this command: freeing thousands of sessions one
    // string at a time would only delay its exit.
    std::mem::forget(sessions);
    Ok(Outcome::OK)
}

/// `--status`: only the sessions of that status.
pub(super) fn keep_status(sessions: &mut Vec<Session>, status: Option<&str>) {
    if let Some(want) = status.and_then(SessionStatus::parse) {
        sessions.retain(|s| s.status == want);
    }
}

pub(crate) fn terminal_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return w;
    }
    // SAFETY: winsize is four integers, for which all zeroes is a value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills the struct we pass; failure leaves it zeroed.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        120
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::session;

    #[test]
    fn status_keeps_the_sessions_of_that_status() {
        let all: Vec<Session> = ["running", "failed", "completed", "failed"]
            .iter()
            .map(|st| session(st, "2025-01-01T00:00:00"))
            .collect();
        let kept = |status: Option<&str>| {
            let mut s = all.clone();
            keep_status(&mut s, status);
            s.iter().map(|s| s.status.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(kept(None).len(), 4);
        assert_eq!(kept(Some("failed")), ["failed", "failed"]);
        assert_eq!(kept(Some("killed")), Vec::<&str>::new());
    }
}
