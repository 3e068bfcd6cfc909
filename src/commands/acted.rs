//! What `kill` and `rm` share: what became of each id they were given, how
//! that is reported, and the exit status it makes. One id failing does not
//! stop the others.

use super::{Ctx, Outcome};
use crate::error::Error;
use crate::model::Session;
use crate::render::human::actions::{self, Act};
use crate::render::{self, json};
use crate::session::manager::Manager;
use anyhow::Result;

/// What became of one id.
pub(super) enum Fate {
    /// Done: killed (the agent's processes are known gone and the ending is
    /// recorded) or removed.
    Done { session: Session, killed: bool },
    /// The agent was stopped, but its ending could not be written down (a
    /// full disk, a read-only store).
    Unrecorded { session: Session, error: Error },
    /// Nothing was done. `id` is the full id, or the id as given when it
    /// names no session.
    Failed { id: String, error: Error },
}

impl Fate {
    fn outcome(&self) -> Outcome {
        match self {
            Fate::Done { .. } => Outcome::OK,
            // Stopped, but not written down: a failure, said so.
            Fate::Unrecorded { .. } => Outcome::FAILURE,
            Fate::Failed { error, .. } => Outcome::of_error(error),
        }
    }
}

/// The exit status of a `kill` or `rm`: the worst of its ids'.
pub(super) fn outcome(fates: &[Fate]) -> Outcome {
    fates
        .iter()
        .map(Fate::outcome)
        .fold(Outcome::OK, Outcome::worst)
}

/// Resolves `given` and acts on the session it names.
pub(super) fn act_on(
    manager: &Manager,
    given: &str,
    action: impl FnOnce(&str) -> Result<Fate, Error>,
) -> Fate {
    match manager.store().resolve(given) {
        Ok(id) => action(&id).unwrap_or_else(|error| Fate::Failed { id, error }),
        Err(error) => Fate::Failed {
            id: given.to_string(),
            error,
        },
    }
}

/// A line for each session acted on, an error for each that was not (with
/// `--json`, the document alone carries them); the exit status.
pub(super) fn report(ctx: &mut Ctx, fates: Vec<Fate>, act: Act) -> Result<Outcome> {
    let outcome = outcome(&fates);
    let style = ctx.style();
    let mut results = Vec::with_capacity(fates.len());
    for fate in fates {
        match fate {
            Fate::Done { session, killed } => {
                if !ctx.json() {
                    ctx.p.line(&actions::acted(act, &session))?;
                }
                results.push(json::ActionResultJson::done(&session, killed));
            }
            Fate::Unrecorded { session, error } => {
                let why = actions::unrecorded(&session, &error);
                if !ctx.json() {
                    ctx.p.flush()?;
                    render::error(&style, &why, Some(actions::UNRECORDED_HINT));
                }
                results.push(json::ActionResultJson::unrecorded(&session, why));
            }
            Fate::Failed { id, error } => {
                if !ctx.json() {
                    ctx.p.flush()?;
                    render::error(&style, &error.to_string(), error.hint().as_deref());
                }
                results.push(json::ActionResultJson::failed(id, &error));
            }
        }
    }
    if ctx.json() {
        ctx.p.json_doc(&json::ActionJson {
            schema_version: json::SCHEMA_VERSION,
            results,
        })?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::session;
    use crate::error::exit;

    fn done() -> Fate {
        Fate::Done {
            session: session("killed", "2025-01-01T00:00:00"),
            killed: true,
        }
    }

    fn unrecorded() -> Fate {
        Fate::Unrecorded {
            session: session("killed", "2025-01-01T00:00:00"),
            error: Error::Usage("disk full".into()),
        }
    }

    fn failed(error: Error) -> Fate {
        Fate::Failed {
            id: "3f2a".into(),
            error,
        }
    }

    fn not_found() -> Fate {
        failed(Error::NotFound("3f2a".into()))
    }

    fn busy() -> Fate {
        failed(Error::Busy {
            id: "3f2a".into(),
            turn: 1,
        })
    }

    fn not_running() -> Fate {
        failed(Error::NotRunning {
            id: "3f2a".into(),
            status: "completed".into(),
            action: "kill",
        })
    }

    fn code(fates: Vec<Fate>) -> i32 {
        outcome(&fates).code()
    }

    #[test]
    fn every_id_done_is_success_and_none_asked_too() {
        assert_eq!(code(vec![]), exit::OK);
        assert_eq!(code(vec![done(), done()]), exit::OK);
    }

    #[test]
    fn an_agent_stopped_but_not_recorded_is_a_failure() {
        assert_eq!(code(vec![done(), unrecorded(), done()]), exit::FAILURE);
    }

    #[test]
    fn an_id_that_failed_exits_with_its_error() {
        assert_eq!(code(vec![done(), not_running()]), exit::FAILURE);
        assert_eq!(code(vec![not_found(), done()]), exit::NOT_FOUND);
        assert_eq!(code(vec![done(), busy()]), exit::BUSY);
    }

    #[test]
    fn the_worst_id_decides_whatever_the_order() {
        assert_eq!(code(vec![busy(), unrecorded(), not_found()]), exit::BUSY);
        assert_eq!(code(vec![unrecorded(), not_found()]), exit::NOT_FOUND);
        assert_eq!(code(vec![not_found(), unrecorded()]), exit::NOT_FOUND);
    }
}
