//! `version`: this zwarm's version and the schema of its documents, which
//! `remote add` asks a host for.

use super::{Ctx, Outcome};
use crate::render::json::VersionJson;
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let v = VersionJson::current();
    if ctx.json() {
        ctx.p.json_doc(&v)?;
    } else {
        ctx.p.line(&format!(
            "zwarm {} (JSON schema_version {})",
            v.version, v.schema_version
        ))?;
    }
    Ok(Outcome::OK)
}
