//! What `start` and `inject` do once their turn is launched: print the
//! session, and report a turn whose agent could not be started.

use super::{Ctx, Outcome};
use crate::model::{Session, SessionStatus};
use crate::render::{self, human, human::launch::Launch, json};
use anyhow::Result;

/// Prints the session as the launch left it: with `--json` the document,
/// else the line of a running turn; a turn that could not start is an
/// error (after the document, which says why too).
pub(super) fn report(ctx: &mut Ctx, s: &Session, launch: Launch) -> Result<Outcome> {
    let outcome = outcome(s.status);
    if ctx.json() {
        let place = ctx.manager.queue_place(s);
        let mut doc = json::SessionDoc::from(s);
        doc.session = doc.session.with_queue(place.as_ref());
        ctx.p.json_doc(&doc)?;
    } else if outcome == Outcome::OK {
        ctx.p.line(&human::launch::launched(s, launch))?;
    }
    if outcome != Outcome::OK {
        ctx.p.flush()?;
        render::error(
            &ctx.style(),
            &human::launch::could_not_start(s, launch),
            None,
        );
    }
    Ok(outcome)
}

/// A launched turn is a success while it runs; one that has already ended
/// never started (its agent is missing, or would not run).
fn outcome(status: SessionStatus) -> Outcome {
    if status.is_active() {
        Outcome::OK
    } else {
        Outcome::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::session;

    #[test]
    fn a_launch_succeeds_while_its_turn_runs() {
        assert_eq!(outcome(SessionStatus::Running), Outcome::OK);
        assert_eq!(outcome(SessionStatus::Pending), Outcome::OK);
        for st in [
            SessionStatus::Failed,
            SessionStatus::Completed,
            SessionStatus::Killed,
            SessionStatus::Unknown,
        ] {
            assert_eq!(outcome(st), Outcome::FAILURE, "{st:?}");
        }
    }

    #[test]
    fn start_and_inject_report_a_failure_alike() {
        let mut s = session("failed", "2025-01-01T00:00:00");
        s.turn = 2;
        s.error = Some("codex not found".into());
        assert_eq!(
            human::launch::could_not_start(&s, Launch::Start),
            "session 3f2a9c1e could not start: codex not found"
        );
        assert_eq!(
            human::launch::could_not_start(&s, Launch::Inject),
            "turn 2 of session 3f2a9c1e could not start: codex not found"
        );
        s.error = None;
        assert_eq!(
            human::launch::could_not_start(&s, Launch::Start),
            "session 3f2a9c1e could not start: unknown reason"
        );
        s.status = SessionStatus::Running;
        assert_eq!(
            human::launch::launched(&s, Launch::Start),
            "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70"
        );
        assert_eq!(
            human::launch::launched(&s, Launch::Inject),
            "3f2a9c1e-5b7d-4c8e-9a1f-2b3c4d5e6f70 turn 2"
        );
    }
}
