//! What `apply` says, and how `list` and `show` name a worktree session.

use crate::render::controls::visible;

/// `start --worktree` in a checkout with uncommitted changes.
pub(crate) fn left_behind(branch: &str) -> String {
    format!(
        "the uncommitted changes of this checkout are not in the new worktree: branch {} starts from the base commit",
        visible(branch)
    )
}

/// `start` without `--worktree` beside another running session.
pub(crate) fn shared(other: &str) -> String {
    format!(
        "session {other} is running in this checkout too: the agents will change the same files; `zwarm start -w` gives each its own worktree"
    )
}

/// `apply` that went through.
pub(crate) fn applied(short_id: &str, files: &[String]) -> String {
    let names: Vec<_> = files.iter().map(|f| visible(f).into_owned()).collect();
    format!(
        "applied session {short_id}'s change to {} file{}: {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

/// `apply` that met a conflict (and changed nothing).
pub(crate) fn conflict(short_id: &str, files: &[String]) -> String {
    let names: Vec<_> = files.iter().map(|f| visible(f).into_owned()).collect();
    format!(
        "session {short_id}'s change conflicts with this checkout in {}; nothing was applied",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_files_and_says_nothing_was_applied_on_a_conflict() {
        let files = ["a.txt".to_string(), "b\u{1b}.txt".to_string()];
        assert_eq!(
            applied("3f2a9c1e", &files[..1]),
            "applied session 3f2a9c1e's change to 1 file: a.txt"
        );
        assert_eq!(
            conflict("3f2a9c1e", &files),
            "session 3f2a9c1e's change conflicts with this checkout in a.txt, b^[.txt; nothing was applied"
        );
    }
}
