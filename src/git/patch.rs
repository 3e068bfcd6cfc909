//! A change between two commits (snapshots, usually) as a patch, and that
//! change applied to a checkout as uncommitted changes: plainly when it
//! fits, by a three-way merge when it does not, and not at all when the
//! merge conflicts.

use super::snapshot::{record, SNAPSHOT_SIZE_CAP};
use super::{Git, GitError};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Options that make `git diff` print a patch `git apply` takes back,
/// whatever the user's configuration says.
const PATCH_OPTIONS: [&str; 7] = [
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--submodule=short",
];

/// The change from `from` to `to` (commits or trees): a patch that
/// `git apply` takes (binary files included), or with `stat` the
/// `git diff --stat` summary. Empty when nothing changed.
pub(crate) fn diff(git: &Git, from: &str, to: &str, stat: bool) -> Result<Vec<u8>, GitError> {
    let mut args = vec!["diff", "-M"];
    args.extend(PATCH_OPTIONS);
    args.push(if stat { "--stat" } else { "--binary" });
    args.extend(["--end-of-options", from, to, "--"]);
    git.run(args)
}

/// What [`apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The change is in the working tree; these files were touched.
    Clean { files: Vec<String> },
    /// Nothing was changed: these files conflict.
    Conflict { files: Vec<String> },
}

/// Applies the change `from` → `to` to the working tree of `target` (a
/// checkout of the same repository, whose object store holds both commits)
/// as uncommitted changes; the index is left alone.
///
/// When the patch does not apply as it stands, the change is merged
/// three-way (with `from` as the base) against a commit of the working
/// tree, in git's object store only; on a conflict nothing at all is
/// changed and the conflicting files are named. Untracked files over
/// [`SNAPSHOT_SIZE_CAP`] take no part in that merge.
pub(crate) fn apply(target: &Git, from: &str, to: &str) -> Result<Applied, GitError> {
    // `git apply` leaves out paths outside the folder it runs in.
    let mut top = target.clone();
    top.dir = target.toplevel()?;

    let patch = diff(&top, from, to, false)?;
    if patch.is_empty() {
        return Ok(Applied::Clean { files: Vec::new() });
    }
    if fits(&top, &patch)? {
        top.run_with_input(["apply", "--whitespace=nowarn", "-"], Some(&patch))?;
        return Ok(Applied::Clean {
            files: touched(&top, from, to)?,
        });
    }

    let here = record(
        &top,
        None,
        "zwarm apply: the working tree",
        SNAPSHOT_SIZE_CAP,
    )?
    .commit;
    let base = format!("--merge-base={from}");
    let out = top.output(
        [
            "merge-tree",
            "--write-tree",
            "--name-only",
            "-z",
            "--no-messages",
            &base,
            "--end-of-options",
            &here,
            to,
        ],
        None,
    )?;
    let mut fields = out.stdout.split(|&b| b == 0);
    let tree = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    match out.status.code() {
        Some(0) => {}
        Some(1) => {
            let mut files: Vec<String> = fields
                .take_while(|f| !f.is_empty())
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            files.dedup();
            return Ok(Applied::Conflict { files });
        }
        _ => {
            let args: Vec<_> = ["merge-tree", "--write-tree", &base, &here, to]
                .map(Into::into)
                .to_vec();
            return Err(super::failed(&args, &out));
        }
    }

    let merged = diff(&top, &here, &tree, false)?;
    if !merged.is_empty() {
        // `git apply` checks the whole patch before it writes a file.
        top.run_with_input(["apply", "--whitespace=nowarn", "-"], Some(&merged))?;
    }
    Ok(Applied::Clean {
        files: touched(&top, &here, &tree)?,
    })
}

/// Applies `patch` (from another host's store, whose snapshots this
/// repository does not have) to the working tree of `target` as
/// uncommitted changes, the index left alone; only as it stands: with no
/// base commit here there is no three-way merge, and a patch that does
/// not fit changes nothing and names the files it does not fit.
pub(crate) fn apply_foreign(target: &Git, patch: &[u8]) -> Result<Applied, GitError> {
    let mut top = target.clone();
    top.dir = target.toplevel()?;
    if patch.is_empty() {
        return Ok(Applied::Clean { files: Vec::new() });
    }
    let numstat = top.run_with_input(["apply", "--numstat", "-z", "-"], Some(patch))?;
    let mut files = numstat_paths(&numstat);
    let check = top.output(
        ["apply", "--check", "--whitespace=nowarn", "-"],
        Some(patch),
    )?;
    if !check.status.success() {
        let said = String::from_utf8_lossy(&check.stderr);
        let failed: Vec<String> = files
            .iter()
            .filter(|f| said.contains(f.as_str()))
            .cloned()
            .collect();
        if !failed.is_empty() {
            files = failed;
        }
        return Ok(Applied::Conflict { files });
    }
    top.run_with_input(["apply", "--whitespace=nowarn", "-"], Some(patch))?;
    Ok(Applied::Clean { files })
}

/// The paths of `git apply --numstat -z`: each record `added\tdeleted\t`
/// and a path, or for a rename an empty path and then both.
fn numstat_paths(out: &[u8]) -> Vec<String> {
    let mut files = Vec::new();
    let mut fields = out.split(|&b| b == 0);
    while let Some(f) = fields.next() {
        let Some(path) = f.splitn(3, |&b| b == b'\t').nth(2) else {
            continue;
        };
        if path.is_empty() {
            // A rename: the two paths follow.
            for _ in 0..2 {
                if let Some(p) = fields.next() {
                    files.push(String::from_utf8_lossy(p).into_owned());
                }
            }
        } else {
            files.push(String::from_utf8_lossy(path).into_owned());
        }
    }
    files.sort();
    files.dedup();
    files
}

/// Whether `patch` applies to the working tree as it stands.
fn fits(git: &Git, patch: &[u8]) -> Result<bool, GitError> {
    let out = git.output(
        ["apply", "--check", "--whitespace=nowarn", "-"],
        Some(patch),
    )?;
    Ok(out.status.success())
}

/// Every path the change `from` → `to` touches (both sides of a rename),
/// repository-relative, sorted.
fn touched(git: &Git, from: &str, to: &str) -> Result<Vec<String>, GitError> {
    let out = git.run([
        "diff",
        "--name-only",
        "--no-renames",
        "--no-relative",
        "-z",
        "--end-of-options",
        from,
        to,
        "--",
    ])?;
    let mut files: Vec<String> = out
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| {
            PathBuf::from(OsStr::from_bytes(p))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::snapshot;
    use super::super::tests::repo;
    use super::*;
    use std::fs;

    /// What `apply` may change, or on a conflict must not.
    #[derive(Debug, PartialEq)]
    struct Checkout {
        files: Vec<(PathBuf, Vec<u8>)>,
        index: Vec<u8>,
        head: String,
    }

    fn checkout(git: &Git) -> Checkout {
        let files = crate::git::tests::working_files(git.dir());
        Checkout {
            files,
            index: fs::read(git.dir().join(".git/index")).unwrap(),
            head: git.line(["rev-parse", "HEAD"]).unwrap(),
        }
    }

    fn numbered(lines: std::ops::Range<u32>, changed: &[(u32, &str)]) -> String {
        lines
            .map(|i| match changed.iter().find(|(n, _)| *n == i) {
                Some((_, text)) => format!("{text}\n"),
                None => format!("line {i}\n"),
            })
            .collect()
    }

    /// A repository whose `main` checkout has `n.txt` (ten numbered lines)
    /// and `old.txt` committed, and a session's turn, made in a linked
    /// worktree since removed: `n.txt` line 5 changed, `old.txt` deleted,
    /// `new.bin` (binary) added. Returns the turn's snapshots.
    fn session() -> (tempfile::TempDir, Git, String, String) {
        let (tmp, git) = repo();
        let p = tmp.path();
        fs::write(p.join("n.txt"), numbered(1..11, &[])).unwrap();
        fs::write(p.join("old.txt"), "old\n").unwrap();
        git.run(["add", "."]).unwrap();
        git.run(["commit", "-q", "-m", "numbers"]).unwrap();

        let wt_dir = tmp.path().join("wt");
        let wt_arg = wt_dir.to_str().unwrap();
        git.run(["worktree", "add", "-q", "-b", "agent", wt_arg])
            .unwrap();
        let wt = Git::at(&wt_dir);
        let cap = SNAPSHOT_SIZE_CAP;
        let start = snapshot(&wt, None, "refs/zwarm/s/turn-1-start", "start", cap).unwrap();
        fs::write(wt_dir.join("n.txt"), numbered(1..11, &[(5, "FIVE")])).unwrap();
        fs::remove_file(wt_dir.join("old.txt")).unwrap();
        fs::write(wt_dir.join("new.bin"), [0u8, 159, 146, 150, 0, 7]).unwrap();
        let end = snapshot(&wt, Some(&start.commit), "refs/zwarm/s/turn-1", "end", cap).unwrap();
        git.run(["worktree", "remove", "--force", wt_arg]).unwrap();
        (tmp, git, start.commit, end.commit)
    }

    #[test]
    fn the_diff_of_a_turn_comes_from_the_refs_after_the_worktree_is_gone() {
        let (_tmp, git, _, _) = session();
        let from = "refs/zwarm/s/turn-1-start";
        let to = "refs/zwarm/s/turn-1";
        let patch = String::from_utf8(diff(&git, from, to, false).unwrap()).unwrap();
        assert!(patch.contains("diff --git a/n.txt b/n.txt"), "{patch}");
        assert!(patch.contains("-line 5\n+FIVE\n"), "{patch}");
        assert!(patch.contains("deleted file mode 100644"), "{patch}");
        assert!(patch.contains("GIT binary patch"), "{patch}");
        let stat = String::from_utf8(diff(&git, from, to, true).unwrap()).unwrap();
        assert!(
            stat.contains("3 files changed, 1 insertion(+), 2 deletions(-)"),
            "{stat}"
        );
        assert!(diff(&git, to, to, false).unwrap().is_empty());
    }

    #[test]
    fn a_change_that_fits_is_applied_as_uncommitted_changes() {
        let (tmp, git, from, to) = session();
        let p = tmp.path();
        let index = fs::read(p.join(".git/index")).unwrap();
        let applied = apply(&git, &from, &to).unwrap();
        let files = ["n.txt", "new.bin", "old.txt"].map(String::from).to_vec();
        assert_eq!(applied, Applied::Clean { files });
        assert_eq!(
            fs::read_to_string(p.join("n.txt")).unwrap(),
            numbered(1..11, &[(5, "FIVE")])
        );
        assert!(!p.join("old.txt").exists());
        assert_eq!(
            fs::read(p.join("new.bin")).unwrap(),
            [0u8, 159, 146, 150, 0, 7]
        );
        assert_eq!(fs::read(p.join(".git/index")).unwrap(), index);
        assert_eq!(git.line(["diff", "--cached"]).unwrap(), "");
        assert_eq!(
            git.line(["symbolic-ref", "HEAD"]).unwrap(),
            "refs/heads/main"
        );
    }

    #[test]
    fn unrelated_uncommitted_changes_are_kept() {
        let (tmp, git, from, to) = session();
        let p = tmp.path();
        fs::write(p.join("a.txt"), "mine\n").unwrap();
        fs::write(p.join("mine.txt"), "untracked\n").unwrap();
        let applied = apply(&git, &from, &to).unwrap();
        assert!(matches!(applied, Applied::Clean { .. }), "{applied:?}");
        assert_eq!(fs::read_to_string(p.join("a.txt")).unwrap(), "mine\n");
        assert_eq!(
            fs::read_to_string(p.join("mine.txt")).unwrap(),
            "untracked\n"
        );
        assert!(fs::read_to_string(p.join("n.txt"))
            .unwrap()
            .contains("FIVE"));
    }

    #[test]
    fn a_change_near_a_local_edit_is_merged_three_way() {
        let (tmp, git, from, to) = session();
        let p = tmp.path();
        // Line 3 is in the patch's context: it no longer applies plainly.
        fs::write(p.join("n.txt"), numbered(1..11, &[(3, "mine")])).unwrap();
        let patch = diff(&git, &from, &to, false).unwrap();
        assert!(!fits(&git, &patch).unwrap());
        let applied = apply(&git, &from, &to).unwrap();
        let files = ["n.txt", "new.bin", "old.txt"].map(String::from).to_vec();
        assert_eq!(applied, Applied::Clean { files });
        assert_eq!(
            fs::read_to_string(p.join("n.txt")).unwrap(),
            numbered(1..11, &[(3, "mine"), (5, "FIVE")])
        );
        assert!(!p.join("old.txt").exists());
        assert!(p.join("new.bin").exists());
        assert_eq!(git.line(["diff", "--cached"]).unwrap(), "");
    }

    #[test]
    fn a_conflict_changes_nothing_and_names_the_files() {
        let (tmp, git, from, to) = session();
        let p = tmp.path();
        fs::write(p.join("n.txt"), numbered(1..11, &[(5, "mine")])).unwrap();
        fs::write(p.join("a.txt"), "mine too\n").unwrap();
        fs::create_dir(p.join("sub")).unwrap();
        let before = checkout(&git);
        // From a subfolder, as from the top.
        let applied = apply(&Git::at(p.join("sub")), &from, &to).unwrap();
        assert_eq!(
            applied,
            Applied::Conflict {
                files: vec!["n.txt".into()]
            }
        );
        assert_eq!(checkout(&git), before);
    }

    #[test]
    fn an_untracked_file_in_the_way_is_a_conflict_that_changes_nothing() {
        let (tmp, git, from, to) = session();
        fs::write(tmp.path().join("new.bin"), "mine, untracked\n").unwrap();
        let before = checkout(&git);
        let applied = apply(&git, &from, &to).unwrap();
        assert_eq!(
            applied,
            Applied::Conflict {
                files: vec!["new.bin".into()]
            }
        );
        assert_eq!(checkout(&git), before);
    }

    #[test]
    fn an_empty_change_applies_as_nothing() {
        let (_tmp, git, _, to) = session();
        assert_eq!(
            apply(&git, &to, &to).unwrap(),
            Applied::Clean { files: Vec::new() }
        );
    }
}
