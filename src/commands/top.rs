//! `top`: the live dashboard, on a terminal only.

use super::{Ctx, Outcome};
use crate::error::Error;
use anyhow::Result;
use std::io::IsTerminal;

pub(crate) fn run(ctx: &mut Ctx) -> Result<Outcome> {
    if ctx.json() {
        return Err(Error::Usage(
            "top is a dashboard for a terminal and has no --json; `zwarm --json list` lists sessions".into(),
        )
        .into());
    }
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "top needs a terminal, and stdout is not one; `zwarm list` prints the sessions".into(),
        )
        .into());
    }
    Ok(match crate::top::run(&ctx.manager, ctx.style().color)? {
        Some(signo) => Outcome::of_signal(signo),
        None => Outcome::OK,
    })
}
