//! `doctor`: report what does not add up in the store, and with `--fix`
//! repair what can be repaired without losing anything.

use crate::error::exit;
use crate::render::{self, json, Printer};
use crate::session::doctor::examine;
use crate::session::manager::Manager;
use anyhow::Result;

pub fn doctor(manager: &Manager, fix: bool, p: &mut Printer) -> Result<i32> {
    let findings = examine(manager, fix, manager.stall_after());
    let unfixed = findings.iter().filter(|f| !f.fixed).count();
    if p.json {
        p.json_doc(&json::DoctorJson {
            schema_version: json::SCHEMA_VERSION,
            fix,
            healthy: unfixed == 0,
            problems: findings.iter().map(Into::into).collect(),
        })?;
    } else {
        for f in &findings {
            let who = f
                .session
                .as_deref()
                .map(|id| &id[..id.len().min(8)])
                .unwrap_or("-");
            let mut line = format!("{who:<8}  {}: {}", f.kind.as_str(), f.detail);
            if let Some(a) = &f.action {
                line.push_str(&format!("  -> {a}"));
            }
            // Details quote file names and agents' errors.
            p.line(&render::controls::visible(&line))?;
        }
        let fixed = findings.len() - unfixed;
        let summary = match (findings.len(), fix) {
            (0, _) => "no problems found".to_string(),
            (n, false) => format!("{n} problem(s) found; `zwarm doctor --fix` repairs what it can"),
            (n, true) => format!("{n} problem(s) found, {fixed} fixed"),
        };
        render::notice(&p.style, &summary);
    }
    Ok(if unfixed == 0 {
        exit::OK
    } else {
        exit::FAILURE
    })
}
