//! `diff`: what a session or one of its turns changed, from its snapshots.

use super::{Ctx, Outcome};
use crate::cli::DiffArgs;
use crate::error::Error;
use crate::git::{self, Git};
use crate::render::json;
use crate::session::snapshots::{span, NoSpan, Span};
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &DiffArgs) -> Result<Outcome> {
    let s = ctx.manager.get(&a.id)?;
    let Span {
        from,
        to,
        repo,
        changes,
    } = span(&s, a.turn).map_err(usage_or_failure)?;
    let git = Git::at(&repo);
    let bytes = git::diff(&git, &from, &to, a.stat)?;
    if ctx.json() {
        let changes = match changes {
            Some(c) => c,
            None => git::changes(&git, &from, &to)?,
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        ctx.p.json_doc(&json::DiffJson {
            schema_version: json::SCHEMA_VERSION,
            id: &s.id,
            turn: a.turn,
            from: &from,
            to: &to,
            changes: changes.into(),
            patch: (!a.stat).then(|| text.clone()),
            stat: a.stat.then_some(text),
        })?;
    } else {
        // git's own output, byte for byte: a patch is data, and `git apply`
        // must be able to take it back.
        std::io::Write::write_all(ctx.p.out(), &bytes)?;
    }
    Ok(Outcome::OK)
}

/// A turn the session does not have is the user's mistake (exit 2); the
/// rest is what the session lacks (exit 1).
pub(super) fn usage_or_failure(e: NoSpan) -> anyhow::Error {
    match e {
        NoSpan::NoTurn { .. } => Error::Usage(e.to_string()).into(),
        e => e.into(),
    }
}
