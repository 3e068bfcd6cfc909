//! `clean`: remove finished sessions that ended before a cut-off. A dry run
//! unless told `--yes`.

use crate::error::exit;
use crate::render::{self, json, Printer};
use crate::session::manager::Manager;
use crate::timefmt::compact_duration;
use anyhow::Result;
use std::time::Duration;

pub fn clean(manager: &Manager, older_than: Duration, yes: bool, p: &mut Printer) -> Result<i32> {
    let (sessions, problems) = manager.list()?;
    for pr in &problems {
        render::warning(
            &p.style,
            &format!("skipped session {}: {}", pr.id, pr.error),
        );
    }
    let cutoff = older_than.as_secs_f64();
    let old: Vec<_> = sessions
        .into_iter()
        .filter(|s| !s.status.is_active())
        .filter(|s| s.ended_at().unwrap_or(s.updated_at).age_seconds() > cutoff)
        .collect();
    let mut code = exit::OK;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for s in old {
        let age = compact_duration(s.ended_at().unwrap_or(s.updated_at).age_seconds());
        if yes {
            if let Err(e) = manager.delete(&s.id) {
                code = exit::FAILURE;
                // As with `kill` and `rm`: with --json, the document alone
                // carries the failures.
                if !p.json {
                    p.flush()?;
                    render::error(
                        &p.style,
                        &format!("session {} could not be removed: {e}", s.short_id()),
                        None,
                    );
                }
                failed.push(json::ProblemJson {
                    id: s.id.into(),
                    error: e.to_string(),
                });
                continue;
            }
        }
        if !p.json {
            let verb = if yes { "removed" } else { "would remove" };
            p.line(&format!(
                "{verb} {} ({}, ended {age} ago)",
                s.short_id(),
                s.status
            ))?;
        }
        done.push(s);
    }
    if p.json {
        p.json_doc(&json::CleanJson {
            schema_version: json::SCHEMA_VERSION,
            dry_run: !yes,
            sessions: done.iter().map(Into::into).collect(),
            failed,
        })?;
    } else if done.is_empty() && failed.is_empty() {
        render::notice(&p.style, "nothing to clean");
    } else if !yes {
        render::notice(&p.style, "dry run: add --yes to remove them");
    }
    Ok(code)
}
