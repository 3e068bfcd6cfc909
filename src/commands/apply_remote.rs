//! `apply HOST:ID`: a remote session's change, into the checkout here. The
//! remote's `diff --json` gives the patch (its snapshots stay there); it
//! is applied here as it stands, or not at all.

use super::hosted::live;
use super::{Ctx, Outcome};
use crate::cli::ApplyArgs;
use crate::git::{self, Applied, Git};
use crate::remote::config::Config;
use crate::remote::ordered::Ordered;
use crate::remote::transport::{self, Request};
use crate::remote::{split_id, HostError};
use crate::render::json::with_host;
use crate::render::{self, human, json};
use anyhow::{bail, Result};
use std::time::Duration;

pub(crate) fn run(ctx: &mut Ctx, a: &ApplyArgs, name: &str, stall: Duration) -> Result<Outcome> {
    let host = Config::load()?.host(name)?;
    let id = split_id(&a.id).map_or(a.id.as_str(), |(_, id)| id);
    let here = Git::at(std::env::current_dir()?);
    here.toplevel()?;
    let mut argv = vec![
        "diff".to_string(),
        "--json".into(),
        "--color=never".into(),
        format!("--stall-after={}ms", stall.as_millis()),
    ];
    if let Some(d) = &host.remote.remote_dir {
        argv.push(format!("--dir={d}"));
    }
    if let Some(t) = a.turn {
        argv.push(format!("--turn={t}"));
    }
    argv.extend(["--".into(), id.to_string()]);
    let reply = transport::run(
        &host,
        &Request {
            argv,
            columns: None,
        },
    )?;
    render::remote_stderr(&reply.stderr, Some(&host.name));
    if reply.code != 0 {
        return Ok(Outcome(reply.code));
    }
    let bad = |detail: String| HostError::BadReply {
        host: host.name.clone(),
        detail,
    };
    let doc: serde_json::Value = serde_json::from_slice(&reply.stdout)
        .map_err(|e| bad(format!("not a diff document: {e}")))?;
    let (Some(full), Some(patch)) = (doc["id"].as_str(), doc["patch"].as_str()) else {
        return Err(bad("a diff document without its id or patch".into()).into());
    };
    let short = full.get(..8).unwrap_or(full);
    let (applied, files) = match git::apply_foreign(&here, patch.as_bytes())? {
        Applied::Clean { files } => (true, files),
        Applied::Conflict { files } => (false, files),
    };
    if ctx.json() {
        let mut out = Ordered::of(&json::ApplyJson::new(full, a.turn, applied, &files))?;
        with_host(&mut out, &live(&host.name));
        ctx.p.json_doc(&out)?;
    } else if applied {
        ctx.p.line(&human::git::applied(short, &files))?;
    }
    if applied {
        Ok(Outcome::OK)
    } else {
        ctx.p.flush()?;
        bail!(
            "{} (host {}'s change applies here only as it stands: there is no common base for a merge)",
            human::git::conflict(short, &files),
            host.name
        )
    }
}
