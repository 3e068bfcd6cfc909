//! `mcp`: serve the verbs as MCP tools over stdio until the client leaves.

use super::{Ctx, Outcome};
use crate::cli::McpArgs;
use crate::error::Error;
use crate::mcp::{self, Limits};
use anyhow::{Context, Result};

pub(crate) fn run(ctx: &mut Ctx, a: &McpArgs) -> Result<Outcome> {
    let roots = if a.roots.is_empty() {
        vec![std::env::current_dir().context("cannot read the current directory")?]
    } else {
        a.roots.clone()
    };
    // Resolved once, so a working dir reached through a link or `..` is
    // judged by where it really is.
    let roots = roots
        .iter()
        .map(|r| {
            // A root that is not there is the user's mistake, as `--cd` is.
            std::fs::canonicalize(r)
                .map_err(|e| Error::Usage(format!("--root {}: {e}", r.display())))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let limits = Limits {
        max_sessions: a.max_sessions,
        max_sandbox: a.max_sandbox.clone(),
        roots,
    };
    let m = &ctx.manager;
    mcp::serve(m.store().clone(), m.stall_after(), limits)?;
    Ok(Outcome::OK)
}
