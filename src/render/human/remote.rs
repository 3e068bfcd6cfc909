//! `remote ls` and the heading of each host's rows in `list --all-hosts`.

use super::super::controls::visible;
use super::super::style::BOLD;
use super::super::Style;
use crate::render::json::RemoteJson;

/// The remotes as a table, or a line saying there are none.
pub(crate) fn remotes(style: &Style, rows: &[RemoteJson<'_>]) -> String {
    if rows.is_empty() {
        return "no remotes (`zwarm remote add NAME USER@HOST` adds one)\n".into();
    }
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                visible(r.name).into_owned(),
                visible(r.target).into_owned(),
                visible(r.remote_dir.unwrap_or("-")).into_owned(),
                visible(r.workdir.unwrap_or("-")).into_owned(),
            ]
        })
        .collect();
    let heads = ["NAME", "TARGET", "STORE", "WORKDIR"];
    let mut widths = heads.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 4]| {
        let mut l = String::new();
        for (c, w) in cols.iter().zip(widths) {
            l.push_str(c);
            l.extend(std::iter::repeat_n(' ', w - c.chars().count() + 2));
        }
        l.trim_end().to_string()
    };
    let mut out = String::new();
    style.paint_into(&mut out, BOLD, &line(heads));
    out.push('\n');
    for (row, r) in cells.iter().zip(rows) {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
        if !r.options.is_empty() {
            out.push_str("  -o ");
            out.push_str(&visible(&r.options.join(" -o ")));
        }
        out.push('\n');
    }
    out
}

/// The line above a host's sessions: its name, and when it did not answer,
/// why what follows is what it listed last.
pub(crate) fn host_heading(style: &Style, name: &str, stale: Option<(&str, &str)>) -> String {
    let mut out = String::new();
    style.paint_into(&mut out, BOLD, &format!("── {}", visible(name)));
    if let Some((why, last_seen)) = stale {
        out.push(' ');
        let ago = chrono::DateTime::parse_from_rfc3339(last_seen)
            .map(|t| {
                let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds();
                format!(" ({} ago)", crate::timefmt::compact_duration(secs as f64))
            })
            .unwrap_or_default();
        let text = format!(
            "stale: {}; its sessions as last seen {}{ago}",
            visible(why),
            visible(last_seen)
        );
        out.push_str(&style.yellow(&text));
    }
    out.push('\n');
    out
}
