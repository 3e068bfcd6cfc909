//! `inject`: the next turn of a session's conversation.

use super::{launch, Ctx, Outcome};
use crate::cli::InjectArgs;
use crate::model::Budget;
use crate::render::human::launch::Launch;
use crate::session::manager::{QueueOptions, TurnOptions};
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &InjectArgs) -> Result<Outcome> {
    let options = TurnOptions {
        not_before: None,
        timeout: a.timeout,
        on_end: a.on_end.clone(),
        queue: QueueOptions {
            max_running: a.max_running,
            group: a.group.clone(),
        },
        budget: Budget {
            max_tokens: a.max_tokens,
            max_cost_usd: a.max_cost,
        },
        agent_args: (!a.agent_args.is_empty()).then(|| a.agent_args.clone()),
    };
    let s = ctx.manager.inject(&a.id, &a.message.join(" "), &options)?;
    launch::report(ctx, &s, Launch::Inject)
}
