//! What an orchestrator may ask of this server: how many sessions, how
//! much sandbox, which directories. Pure decisions, tested here; the
//! server applies them before any session is made.

use std::path::{Path, PathBuf};

/// The sandbox words, least to most permissive.
pub(crate) const SANDBOXES: [&str; 3] = ["read-only", "workspace-write", "danger-full-access"];

/// Where `mode` stands in [`SANDBOXES`]; `None` for a word zwarm does not know.
pub(crate) fn sandbox_rank(mode: &str) -> Option<usize> {
    SANDBOXES.iter().position(|m| *m == mode)
}

/// The sandbox a session gets: the one asked for if within `max`, else a
/// refusal. Without one asked for, the agent's own default (codex
/// `workspace-write`; claude runs every tool, i.e. `danger-full-access`) is
/// lowered to `max`, so the cap holds without the caller knowing it.
pub(crate) fn sandbox(
    asked: Option<&str>,
    agent_default: &str,
    max: &str,
) -> Result<String, String> {
    let cap = sandbox_rank(max).unwrap_or(0);
    match asked {
        Some(mode) => match sandbox_rank(mode) {
            None => Err(format!(
                "unknown sandbox {mode:?}: one of {}",
                SANDBOXES.join(", ")
            )),
            Some(r) if r > cap => Err(format!(
                "sandbox {mode} is more than this server allows (--max-sandbox {max})"
            )),
            Some(_) => Ok(mode.to_owned()),
        },
        None => {
            let r = sandbox_rank(agent_default).unwrap_or(cap).min(cap);
            Ok(SANDBOXES[r].to_owned())
        }
    }
}

/// The `source` of a session an MCP client started: `orchestrator:` and the
/// client's name as one word (what 2.3.5's readers and `list` expect),
/// `orchestrator:mcp` for a client that gave none.
pub(crate) fn source(client_name: Option<&str>) -> String {
    let word: String = client_name
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let word = word.trim_matches('-');
    if word.is_empty() {
        "orchestrator:mcp".into()
    } else {
        format!("orchestrator:{word}")
    }
}

/// `dir` resolved (links and `..` followed), if it lies in one of `roots`
/// (already resolved); else why not.
pub(crate) fn within_roots(dir: &Path, roots: &[PathBuf]) -> Result<PathBuf, String> {
    let real =
        std::fs::canonicalize(dir).map_err(|e| format!("working_dir {}: {e}", dir.display()))?;
    if !real.is_dir() {
        return Err(format!("working_dir {}: not a directory", dir.display()));
    }
    if roots.iter().any(|r| real.starts_with(r)) {
        Ok(real)
    } else {
        let list: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        Err(format!(
            "working_dir {} is outside this server's roots ({}); see `zwarm mcp --root`",
            dir.display(),
            list.join(", ")
        ))
    }
}

/// Whether `running` sessions leave room for one more under `max`.
pub(crate) fn room_for_one(running: usize, max: u32) -> Result<(), String> {
    if running < max as usize {
        Ok(())
    } else {
        Err(format!(
            "{running} sessions started by this server have not ended yet (--max-sessions {max}); \
             wait for one, or kill one"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_above_the_cap_is_refused() {
        assert_eq!(
            sandbox(Some("read-only"), "workspace-write", "workspace-write").unwrap(),
            "read-only"
        );
        assert!(sandbox(
            Some("danger-full-access"),
            "workspace-write",
            "workspace-write"
        )
        .unwrap_err()
        .contains("--max-sandbox workspace-write"));
        assert!(sandbox(Some("yolo"), "workspace-write", "danger-full-access").is_err());
        assert_eq!(
            sandbox(Some("danger-full-access"), "x", "danger-full-access").unwrap(),
            "danger-full-access"
        );
    }

    #[test]
    fn without_one_asked_the_agents_default_is_lowered_to_the_cap() {
        assert_eq!(
            sandbox(None, "danger-full-access", "workspace-write").unwrap(),
            "workspace-write"
        );
        assert_eq!(
            sandbox(None, "workspace-write", "read-only").unwrap(),
            "read-only"
        );
        assert_eq!(
            sandbox(None, "workspace-write", "danger-full-access").unwrap(),
            "workspace-write"
        );
    }

    #[test]
    fn a_client_name_becomes_one_word() {
        assert_eq!(
            source(Some("codex-mcp-client")),
            "orchestrator:codex-mcp-client"
        );
        assert_eq!(source(Some("Claude Code")), "orchestrator:Claude-Code");
        assert_eq!(source(Some(" \n")), "orchestrator:mcp");
        assert_eq!(source(None), "orchestrator:mcp");
        assert!(crate::model::is_valid_source(&source(Some("a\tb\u{7}c"))));
        assert_eq!(
            source(Some(&"x".repeat(100))).len(),
            "orchestrator:".len() + 64
        );
    }

    #[test]
    fn only_directories_under_a_root_are_allowed() {
        let root = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(root.path()).unwrap();
        std::fs::create_dir(real.join("sub")).unwrap();
        let roots = vec![real.join("sub")];
        assert_eq!(
            within_roots(&real.join("sub"), &roots).unwrap(),
            real.join("sub")
        );
        assert!(within_roots(&real.join("sub/.."), &roots)
            .unwrap_err()
            .contains("outside this server's roots"));
        assert!(within_roots(&real.join("missing"), &roots).is_err());
    }

    #[test]
    fn the_session_cap_counts_what_has_not_ended() {
        assert!(room_for_one(0, 1).is_ok());
        assert!(room_for_one(1, 1).unwrap_err().contains("--max-sessions 1"));
        assert!(room_for_one(0, 0).is_err());
    }
}
