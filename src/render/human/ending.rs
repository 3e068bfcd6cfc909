//! `wait` and `watch`: how the turns they waited for ended.

use super::{one_line, status_word};
use crate::model::{Session, SessionStatus};
use crate::render::Style;

/// `wait`: a session as it stands once the wait returns, with its error if
/// it has ended.
pub(crate) fn waited(style: &Style, s: &Session) -> String {
    let mut line = format!("{} {}", style.cyan(s.short_id()), status_word(style, s));
    if let Some(e) = s.error.as_deref().filter(|_| !s.status.is_active()) {
        line.push_str(&format!(": {}", one_line(e, 200)));
    }
    line
}

/// `wait --timeout` that ran out.
pub(crate) const TIMED_OUT: &str = "timed out";

/// `watch`'s last line: how the turn ended (`ending`), green if the session
/// completed.
pub(crate) fn watch_end(style: &Style, s: &Session, ending: &str) -> String {
    let mut line = format!("── turn {} {ending} ──", s.turn);
    if let Some(e) = &s.error {
        line.push_str(&format!(" {}", one_line(e, 300)));
    }
    if s.status == SessionStatus::Completed {
        style.green(&line)
    } else {
        style.red(&line)
    }
}
