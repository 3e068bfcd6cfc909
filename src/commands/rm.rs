//! `rm`: delete finished sessions (running ones too, stopped first, with
//! `--force`).

use super::acted::{self, Fate};
use super::{Ctx, Outcome};
use crate::cli::RmArgs;
use crate::render::human::actions::Act;
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &RmArgs) -> Result<Outcome> {
    let manager = &ctx.manager;
    let fates = a
        .ids
        .iter()
        .map(|given| {
            acted::act_on(manager, given, |id| {
                Ok(Fate::Done {
                    session: manager.remove(id, a.force, a.delete_branch)?,
                    killed: false,
                })
            })
        })
        .collect();
    acted::report(ctx, fates, Act::Removed)
}
