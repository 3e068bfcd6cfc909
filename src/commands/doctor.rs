//! `doctor`: report what does not add up in the store, and with `--fix`
//! repair what can be repaired without losing anything.

use super::{Ctx, Outcome};
use crate::cli::DoctorArgs;
use crate::render::{self, human, json};
use crate::session::doctor::{examine, Finding};
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &DoctorArgs) -> Result<Outcome> {
    let findings = examine(&ctx.manager, a.fix, ctx.manager.stall_after());
    if ctx.json() {
        ctx.p.json_doc(&json::DoctorJson::new(a.fix, &findings))?;
    } else {
        for f in &findings {
            ctx.p.line(&human::doctor::finding(f))?;
        }
        let fixed = findings.iter().filter(|f| f.fixed).count();
        render::notice(
            &ctx.style(),
            &human::doctor::summary(findings.len(), fixed, a.fix),
        );
    }
    Ok(outcome(&findings))
}

/// Healthy, or with every problem fixed: success; else a failure.
fn outcome(findings: &[Finding]) -> Outcome {
    if findings.iter().all(|f| f.fixed) {
        Outcome::OK
    } else {
        Outcome::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::doctor::Kind;

    fn finding(fixed: bool) -> Finding {
        Finding {
            kind: Kind::TempFile,
            session: None,
            detail: "left over".into(),
            action: None,
            fixed,
        }
    }

    #[test]
    fn only_problems_left_unfixed_fail() {
        assert_eq!(outcome(&[]), Outcome::OK);
        assert_eq!(outcome(&[finding(true), finding(true)]), Outcome::OK);
        assert_eq!(outcome(&[finding(true), finding(false)]), Outcome::FAILURE);
    }

    #[test]
    fn the_summary_counts_what_was_found_and_fixed() {
        assert_eq!(human::doctor::summary(0, 0, true), "no problems found");
        assert_eq!(
            human::doctor::summary(2, 0, false),
            "2 problem(s) found; `zwarm doctor --fix` repairs what it can"
        );
        assert_eq!(
            human::doctor::summary(3, 1, true),
            "3 problem(s) found, 1 fixed"
        );
    }
}
