//! `doctor`: a line a finding, and the summary.

use crate::render::controls::visible;
use crate::session::doctor::Finding;

/// A finding: the session it concerns, what is wrong, what `--fix` did.
/// Details quote file names and agents' errors: shown visibly.
pub(crate) fn finding(f: &Finding) -> String {
    let who = f
        .session
        .as_deref()
        .map(|id| &id[..id.len().min(8)])
        .unwrap_or("-");
    let mut line = format!("{who:<8}  {}: {}", f.kind.as_str(), f.detail);
    if let Some(a) = &f.action {
        line.push_str(&format!("  -> {a}"));
    }
    visible(&line).into_owned()
}

/// How many problems were found, and with `--fix`, how many fixed.
pub(crate) fn summary(found: usize, fixed: usize, fix: bool) -> String {
    match (found, fix) {
        (0, _) => "no problems found".to_string(),
        (n, false) => format!("{n} problem(s) found; `zwarm doctor --fix` repairs what it can"),
        (n, true) => format!("{n} problem(s) found, {fixed} fixed"),
    }
}
