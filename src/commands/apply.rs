//! `apply`: a session's (or one turn's) change, into the current checkout.

use super::{diff::usage_or_failure, Ctx, Outcome};
use crate::cli::ApplyArgs;
use crate::git::{self, Applied, Git};
use crate::render::{human, json};
use crate::session::snapshots::span;
use anyhow::{bail, Result};

pub(crate) fn run(ctx: &mut Ctx, a: &ApplyArgs) -> Result<Outcome> {
    let s = ctx.manager.get(&a.id)?;
    let span = span(&s, a.turn).map_err(usage_or_failure)?;
    let here = Git::at(std::env::current_dir()?);
    here.toplevel()?;
    // The snapshots are objects of the session's repository: another one
    // does not have them.
    let theirs = Git::at(&span.repo).common_dir()?;
    if here.common_dir()? != theirs {
        bail!(
            "this checkout is not in session {}'s repository ({}); run apply in a checkout of it",
            s.short_id(),
            span.repo
        );
    }
    let (applied, files) = match git::apply(&here, &span.from, &span.to)? {
        Applied::Clean { files } => (true, files),
        Applied::Conflict { files } => (false, files),
    };
    if ctx.json() {
        ctx.p
            .json_doc(&json::ApplyJson::new(&s.id, a.turn, applied, &files))?;
    } else if applied {
        ctx.p.line(&human::git::applied(s.short_id(), &files))?;
    }
    if applied {
        Ok(Outcome::OK)
    } else {
        ctx.p.flush()?;
        bail!(human::git::conflict(s.short_id(), &files))
    }
}
