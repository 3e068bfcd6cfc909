//! `diff`: what a session or one of its turns changed, from its snapshots.

use super::{Ctx, Outcome};
use crate::cli::DiffArgs;
use crate::error::Error;
use crate::render::json;
use crate::session::snapshots::{change, NoChange, NoSpan};
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &DiffArgs) -> Result<Outcome> {
    let s = ctx.manager.get(&a.id)?;
    let c = change(&s, a.turn, a.stat, ctx.json()).map_err(|e| match e {
        NoChange::Span(e) => usage_or_failure(e),
        e => e.into(),
    })?;
    match c.changes {
        Some(changes) => {
            let text = String::from_utf8_lossy(&c.text).into_owned();
            ctx.p.json_doc(&json::DiffJson {
                schema_version: json::SCHEMA_VERSION,
                id: &s.id,
                turn: a.turn,
                from: &c.from,
                to: &c.to,
                changes: changes.into(),
                patch: (!a.stat).then(|| text.clone()),
                stat: a.stat.then_some(text),
            })?;
        }
        // git's own output, byte for byte: a patch is data, and `git apply`
        // must be able to take it back.
        None => std::io::Write::write_all(ctx.p.out(), &c.text)?,
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
