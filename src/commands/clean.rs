//! `clean`: remove finished sessions that ended before a cut-off. A dry run
//! unless told `--yes`.

use super::{Ctx, Outcome};
use crate::cli::CleanArgs;
use crate::model::Session;
use crate::render::{self, human, json};
use crate::session::leftovers::{drop_snapshots, gone_snapshots};
use crate::timefmt::Timestamp;
use anyhow::Result;
use std::path::Path;
use std::time::Duration;

pub(crate) fn run(ctx: &mut Ctx, a: &CleanArgs) -> Result<Outcome> {
    let (sessions, problems) = ctx.manager.list()?;
    let style = ctx.style();
    for pr in &problems {
        render::warning(&style, &human::skipped(&pr.id, &pr.error));
    }
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let now = Timestamp::now();
    let gone = if a.snapshots {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let cutoff = since_epoch.saturating_sub(a.older_than).as_secs() as i64;
        gone_snapshots(ctx.manager.store(), &sessions)
            .into_iter()
            .filter(|g| g.newest <= cutoff)
            .collect()
    } else {
        Vec::new()
    };
    for s in due(sessions, a.older_than, now) {
        let worktree = s
            .worktree
            .as_ref()
            .map(|w| worktree_usage(Path::new(&w.path)));
        if a.yes {
            if let Err(e) = ctx.manager.delete(&s.id, false) {
                // As with `kill` and `rm`: with --json, the document alone
                // carries the failures.
                if !ctx.json() {
                    ctx.p.flush()?;
                    render::error(&style, &human::actions::not_removed(&s, &e), None);
                }
                failed.push(json::ProblemJson {
                    id: s.id.into(),
                    error: e.to_string(),
                });
                continue;
            }
        }
        if !ctx.json() {
            ctx.p.line(&human::actions::cleaned(&s, a.yes, worktree))?;
        }
        done.push(s);
    }
    let mut dropped = Vec::new();
    for g in &gone {
        if a.yes {
            if let Err(e) = drop_snapshots(g) {
                if !ctx.json() {
                    ctx.p.flush()?;
                    render::error(
                        &style,
                        &human::actions::snapshots_kept(&g.id, &e.to_string()),
                        None,
                    );
                }
                failed.push(json::ProblemJson {
                    id: g.id.clone(),
                    error: e.to_string(),
                });
                continue;
            }
        }
        if !ctx.json() {
            ctx.p.line(&human::actions::snapshots_dropped(
                &g.id,
                g.refs.len(),
                a.yes,
            ))?;
        }
        dropped.push(json::DroppedJson {
            id: g.id.clone(),
            repo: g.repo.to_string_lossy().into_owned(),
            refs: g.refs.clone(),
        });
    }
    let outcome = outcome(&failed);
    if ctx.json() {
        ctx.p
            .json_doc(&json::CleanJson::new(!a.yes, &done, failed).with_snapshots(dropped))?;
    } else if done.is_empty() && failed.is_empty() && dropped.is_empty() {
        render::notice(&style, human::actions::NOTHING_TO_CLEAN);
    } else if !a.yes {
        render::notice(&style, human::actions::DRY_RUN);
    }
    Ok(outcome)
}

/// A worktree's size in bytes (its files, links not followed) and how long
/// ago anything in its top folder last changed.
fn worktree_usage(path: &Path) -> (u64, u64) {
    fn size(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => size(&e.path()),
                Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
                _ => 0,
            })
            .sum()
    }
    let age = std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or(0, |d| d.as_secs());
    (size(path), age)
}

/// The sessions due for removal at `now`: those whose turn has ended, and
/// ended (or, without a record of it, last changed) longer ago than
/// `older_than`.
fn due(sessions: Vec<Session>, older_than: Duration, now: Timestamp) -> Vec<Session> {
    let cutoff = older_than.as_secs_f64();
    sessions
        .into_iter()
        .filter(|s| !s.status.is_active())
        .filter(|s| s.ended_at().unwrap_or(s.updated_at).seconds_until(&now) > cutoff)
        .collect()
}

/// A failure if any removal failed.
fn outcome(failed: &[json::ProblemJson]) -> Outcome {
    if failed.is_empty() {
        Outcome::OK
    } else {
        Outcome::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::session;

    const DAY: u64 = 86400;

    fn now() -> Timestamp {
        Timestamp::parse("2025-01-10T00:00:00").unwrap()
    }

    fn picked(sessions: &[Session], older_than: Duration) -> Vec<String> {
        due(sessions.to_vec(), older_than, now())
            .into_iter()
            .map(|s| s.id.into())
            .collect()
    }

    fn named(id: &str, mut s: Session) -> Session {
        s.id = id.parse().unwrap();
        s
    }

    #[test]
    fn finished_sessions_older_than_the_cutoff_go() {
        let sessions = [
            named("0f1d", session("failed", "2025-01-01T00:00:00")),
            named("0c0d", session("completed", "2025-01-02T00:00:00")),
            named("4ece", session("killed", "2025-01-09T12:00:00")),
            named("deaf", session("weird", "2025-01-01T00:00:00")),
        ];
        let week = Duration::from_secs(7 * DAY);
        assert_eq!(picked(&sessions, week), ["0f1d", "0c0d", "deaf"]);
        assert_eq!(picked(&sessions, Duration::ZERO).len(), 4);
    }

    #[test]
    fn running_sessions_never_go() {
        let sessions = [
            named("4a11", session("running", "2024-01-01T00:00:00")),
            named("4a12", session("pending", "2024-01-01T00:00:00")),
        ];
        assert!(picked(&sessions, Duration::ZERO).is_empty());
    }

    #[test]
    fn exactly_at_the_cutoff_stays() {
        let s = [session("completed", "2025-01-03T00:00:00")];
        assert!(picked(&s, Duration::from_secs(7 * DAY)).is_empty());
        assert_eq!(picked(&s, Duration::from_secs(7 * DAY - 1)).len(), 1);
    }

    #[test]
    fn the_turns_end_counts_rather_than_the_last_change() {
        // Ended long ago, changed since (a message read, a record fixed).
        let mut s: Session = serde_json::from_value(serde_json::json!({
            "id": "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70",
            "task": "t", "status": "completed", "working_dir": "/w",
            "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-09T00:00:00",
            "turns": [{"turn": 1, "ended_at": "2025-01-01T00:00:00"}],
        }))
        .unwrap();
        assert_eq!(picked(&[s.clone()], Duration::from_secs(7 * DAY)).len(), 1);
        s.turns.clear();
        assert!(picked(&[s], Duration::from_secs(7 * DAY)).is_empty());
    }

    #[test]
    fn a_failed_removal_fails_the_clean() {
        assert_eq!(outcome(&[]), Outcome::OK);
        let failed = json::ProblemJson {
            id: "x".into(),
            error: "busy".into(),
        };
        assert_eq!(outcome(&[failed]), Outcome::FAILURE);
    }
}
