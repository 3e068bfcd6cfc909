//! `show`: everything about one session.

use super::{Ctx, Outcome};
use crate::cli::IdArg;
use crate::render::{human, json};
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &IdArg) -> Result<Outcome> {
    let s = ctx.manager.get(&a.id)?;
    let stall = ctx.manager.stall(&s);
    let place = ctx.manager.queue_place(&s);
    if ctx.json() {
        ctx.p
            .json_doc(&json::ShowJson::new(&s, stall.as_ref(), place.as_ref()))?;
    } else {
        for l in human::show(&ctx.style(), &s, stall.as_ref(), place.as_ref()) {
            ctx.p.line(&l)?;
        }
    }
    Ok(Outcome::OK)
}
