//! Taking a session's worktree away: the worktree itself, only as told;
//! its branch, only once merged.

use super::*;

/// What [`remove`] does with changes git sees in the worktree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leftovers {
    /// Refuse, naming the changed and untracked files.
    Refuse,
    /// Remove them with the worktree: the caller has just made sure they
    /// are all in a snapshot.
    Discard,
}

/// Unlocks and removes the worktree; the branch is kept. A worktree whose
/// folder is already gone is only unregistered; one git no longer knows of
/// is left alone. On failure the worktree stays, locked again.
pub(crate) fn remove(wt: &Worktree, leftovers: Leftovers) -> Result<(), WorktreeError> {
    let git = Git::at(&wt.repo);
    let _lock = lock_repo(&git)?;
    let Some(entry) = listed(&git)?.into_iter().find(|w| w.path == wt.path) else {
        return match std::fs::symlink_metadata(&wt.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            _ => Err(WorktreeError::NotAWorktree {
                path: wt.path.clone(),
                repo: wt.repo.clone(),
            }),
        };
    };
    let present = is_real_dir(&wt.path);
    if present && leftovers == Leftovers::Refuse {
        let files = changed_files(wt)?;
        if !files.is_empty() {
            return Err(WorktreeError::Dirty {
                path: wt.path.clone(),
                files,
            });
        }
    }
    let path = wt.path.as_os_str();
    if entry.locked.is_some() {
        git.run([OsStr::new("worktree"), OsStr::new("unlock"), path])?;
    }
    let remove = |force: bool| {
        let mut args = vec![OsStr::new("worktree"), OsStr::new("remove")];
        if force {
            args.push(OsStr::new("--force"));
        }
        args.push(path);
        git.run(args)
    };
    let result = match remove(leftovers == Leftovers::Discard) {
        // git removes no worktree with submodules in it unless forced;
        // their changes were looked for above.
        Err(GitError::Failed { stderr, .. }) if stderr.contains("submodules") => remove(true),
        other => other,
    };
    if let Err(e) = result {
        if let Some(reason) = entry.locked {
            let _ = git.run([
                OsStr::new("worktree"),
                OsStr::new("lock"),
                OsStr::new("--reason"),
                OsStr::new(&reason),
                path,
            ]);
        }
        return Err(e.into());
    }
    Ok(())
}

/// Deletes the worktree's branch if `into` (a revision, say the base
/// branch) already holds its every commit: true if deleted, false if not
/// merged (and kept). A branch still checked out anywhere is never deleted.
pub(crate) fn delete_branch_if_merged(wt: &Worktree, into: &str) -> Result<bool, WorktreeError> {
    let git = Git::at(&wt.repo);
    let into_commit = git.commit_of(into).map_err(|_| WorktreeError::BadBase {
        rev: into.to_owned(),
        repo: wt.repo.clone(),
    })?;
    let _lock = lock_repo(&git)?;
    let Some(tip) = branch_tip(&git, &wt.branch)? else {
        return Err(WorktreeError::NoBranch {
            branch: wt.branch.clone(),
        });
    };
    let full = format!("refs/heads/{}", wt.branch);
    if let Some(w) = listed(&git)?
        .into_iter()
        .find(|w| w.branch.as_deref() == Some(full.as_str()))
    {
        return Err(WorktreeError::CheckedOut {
            branch: wt.branch.clone(),
            path: w.path,
        });
    }
    let merged = git.output(["merge-base", "--is-ancestor", &tip, &into_commit], None)?;
    match merged.status.code() {
        Some(0) => {}
        Some(1) => return Ok(false),
        _ => {
            git.run(["merge-base", "--is-ancestor", &tip, &into_commit])?;
            return Ok(false);
        }
    }
    // Deleted only if still where it was found.
    git.run(["update-ref", "-d", &full, &tip])?;
    Ok(true)
}

/// Whether git still knows the worktree and its folder is there.
#[cfg(test)]
pub(crate) fn exists(wt: &Worktree) -> bool {
    is_real_dir(&wt.path)
        && listed(&Git::at(&wt.repo)).is_ok_and(|all| all.iter().any(|w| w.path == wt.path))
}

/// The files git sees changed or untracked in the worktree (submodules'
/// changes included, ignored files not), as git names them.
pub(crate) fn changed_files(wt: &Worktree) -> Result<Vec<String>, WorktreeError> {
    let out = Git::at(&wt.path).run([
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--ignore-submodules=none",
        "--untracked-files=all",
    ])?;
    let mut files = Vec::new();
    let mut fields = out.split(|&b| b == 0).filter(|f| !f.is_empty());
    while let Some(field) = fields.next() {
        let (status, name) = field.split_at(field.len().min(3));
        files.push(String::from_utf8_lossy(name).into_owned());
        // A rename or copy names its source next.
        if matches!(status.first(), Some(b'R' | b'C')) {
            fields.next();
        }
    }
    Ok(files)
}
