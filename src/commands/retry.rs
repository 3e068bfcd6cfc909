//! `retry`: the latest turn's message, sent again as a new turn.

use super::{launch, Ctx, Outcome};
use crate::cli::RetryArgs;
use crate::render::human::launch::Launch;
use crate::session::manager::TurnOptions;
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &RetryArgs) -> Result<Outcome> {
    let s = ctx
        .manager
        .retry(&a.id, a.at_reset, &TurnOptions::default())?;
    launch::report(ctx, &s, Launch::Inject)
}
