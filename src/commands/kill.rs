//! `kill`: stop sessions' agents and their process trees.

use super::acted::{self, Fate};
use super::{Ctx, Outcome};
use crate::cli::KillArgs;
use crate::model::Session;
use crate::render::{self, human::actions};
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &KillArgs) -> Result<Outcome> {
    let ids = if a.all {
        let (sessions, _) = ctx.manager.list()?;
        running(sessions)
    } else {
        a.ids.clone()
    };
    if a.all && ids.is_empty() && !ctx.json() {
        render::notice(&ctx.style(), actions::NO_RUNNING_SESSIONS);
    }
    let manager = &ctx.manager;
    let fates = ids
        .iter()
        .map(|given| {
            acted::act_on(manager, given, |id| {
                let killed = manager.kill(id)?;
                if a.delete {
                    manager.delete(&killed.session.id, false)?;
                }
                // A removed session has nowhere left to record anything.
                Ok(match killed.unrecorded.filter(|_| !a.delete) {
                    Some(error) => Fate::Unrecorded {
                        session: killed.session,
                        error,
                    },
                    None => Fate::Done {
                        session: killed.session,
                        killed: true,
                    },
                })
            })
        })
        .collect();
    let act = if a.delete {
        actions::Act::KilledAndRemoved
    } else {
        actions::Act::Killed
    };
    acted::report(ctx, fates, act)
}

/// `--all`: the ids of the sessions with a turn running.
fn running(sessions: Vec<Session>) -> Vec<String> {
    sessions
        .into_iter()
        .filter(|s| s.status.is_active())
        .map(|s| s.id.into())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::session;

    #[test]
    fn all_is_the_sessions_with_a_turn_running() {
        let sessions = ["running", "completed", "pending", "failed", "killed"]
            .iter()
            .enumerate()
            .map(|(n, st)| {
                let mut s = session(st, "2025-01-01T00:00:00");
                s.id = format!("{n}").parse().unwrap();
                s
            })
            .collect();
        assert_eq!(running(sessions), ["0", "2"]);
    }
}
