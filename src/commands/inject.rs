//! `inject`: the next turn of a session's conversation.

use super::{launch, Ctx, Outcome};
use crate::cli::InjectArgs;
use crate::model::Budget;
use crate::render::human::launch::Launch;
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &InjectArgs) -> Result<Outcome> {
    let budget = Budget {
        max_tokens: a.max_tokens,
        max_cost_usd: a.max_cost,
    };
    let s = ctx.manager.inject(
        &a.id,
        &a.message.join(" "),
        a.timeout,
        a.on_end.as_deref(),
        budget,
    )?;
    launch::report(ctx, &s, Launch::Inject)
}
