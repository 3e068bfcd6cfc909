//! `top`: the live dashboard, on a terminal only; this store's sessions,
//! with `--all-hosts` every remote's too, with `--host NAME` that one's.

use super::{Ctx, Outcome};
use crate::cli::TopArgs;
use crate::error::Error;
use crate::remote::config::Config;
use crate::top::Remotes;
use anyhow::Result;
use std::io::IsTerminal;
use std::time::Duration;

pub(crate) fn run(
    ctx: &mut Ctx,
    a: &TopArgs,
    host: Option<&str>,
    stall: Duration,
) -> Result<Outcome> {
    if ctx.json() {
        return Err(Error::Usage(
            "top is a dashboard for a terminal and has no --json; `zwarm --json list` lists sessions".into(),
        )
        .into());
    }
    if a.all_hosts && host.is_some() {
        return Err(Error::Usage("--all-hosts shows every host: give no --host".into()).into());
    }
    // The remotes are known before the terminal is taken: a name that is
    // not one is said on a terminal that reads as usual.
    let hosts = match host {
        Some(name) => vec![Config::load()?.host(name)?],
        None if a.all_hosts => Config::load()?.hosts().collect(),
        None => Vec::new(),
    };
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "top needs a terminal, and stdout is not one; `zwarm list` prints the sessions".into(),
        )
        .into());
    }
    let remotes = Remotes {
        hosts,
        timeout: a.host_timeout,
        stall,
    };
    let local = host.is_none();
    Ok(
        match crate::top::run(&ctx.manager, ctx.style().color, local, &remotes)? {
            Some(signo) => Outcome::of_signal(signo),
            None => Outcome::OK,
        },
    )
}
