use super::super::tests::repo;
use super::*;
use std::fs;

fn snap(git: &Git, parent: Option<&str>, refname: &str) -> Snapshot {
    snapshot(git, parent, refname, "snapshot", SNAPSHOT_SIZE_CAP).unwrap()
}

fn names(git: &Git, rev: &str) -> Vec<String> {
    let out = git.line(["ls-tree", "-r", "--name-only", rev]).unwrap();
    out.lines().map(str::to_owned).collect()
}

fn show(git: &Git, rev: &str, path: &str) -> String {
    git.line(["show", &format!("{rev}:{path}")]).unwrap()
}

/// Everything a snapshot must leave as it was.
#[derive(Debug, PartialEq)]
struct Observed {
    head: String,
    branch: String,
    cached: String,
    status: String,
    index: Vec<u8>,
    index_mtime: std::time::SystemTime,
    files: Vec<(PathBuf, Vec<u8>)>,
}

fn observe(git: &Git, index: &Path) -> Observed {
    let files = crate::git::tests::working_files(git.dir());
    Observed {
        head: git.line(["rev-parse", "HEAD"]).unwrap(),
        branch: git.line(["symbolic-ref", "HEAD"]).unwrap(),
        cached: git.line(["diff", "--cached"]).unwrap(),
        status: git
            .line(["--no-optional-locks", "status", "--porcelain"])
            .unwrap(),
        index: fs::read(index).unwrap(),
        index_mtime: fs::metadata(index).unwrap().modified().unwrap(),
        files,
    }
}

/// A tree with a staged change, an unstaged one, an untracked file, a
/// deleted file and an ignored one.
fn busy_repo() -> (tempfile::TempDir, Git) {
    let (tmp, git) = repo();
    let p = tmp.path();
    fs::write(p.join("b.txt"), "b\n").unwrap();
    fs::write(p.join("gone.txt"), "gone\n").unwrap();
    fs::write(p.join(".gitignore"), "*.log\n").unwrap();
    git.run(["add", "."]).unwrap();
    git.run(["commit", "-q", "-m", "second"]).unwrap();
    fs::write(p.join("a.txt"), "a staged\n").unwrap();
    git.run(["add", "a.txt"]).unwrap();
    fs::write(p.join("a.txt"), "a staged then changed\n").unwrap();
    fs::write(p.join("b.txt"), "b changed\n").unwrap();
    fs::remove_file(p.join("gone.txt")).unwrap();
    fs::create_dir(p.join("new")).unwrap();
    fs::write(p.join("new/c.txt"), "c\n").unwrap();
    fs::write(p.join("noise.log"), "ignored\n").unwrap();
    (tmp, git)
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("zwarm-index"))
        .collect()
}

#[test]
fn a_snapshot_leaves_head_branch_index_and_files_alone() {
    let (tmp, git) = busy_repo();
    let index = tmp.path().join(".git/index");
    let before = observe(&git, &index);
    let s = snap(&git, None, "refs/zwarm/s/turn-1");
    assert_eq!(observe(&git, &index), before);
    assert_eq!(git.commit_of("refs/zwarm/s/turn-1").unwrap(), s.commit);
    assert!(s.left_out.is_empty());
    let who = git.line(["log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", &s.commit]);
    assert_eq!(
        who.unwrap(),
        "zwarm <zwarm@localhost>|zwarm <zwarm@localhost>|snapshot"
    );
    assert!(leftovers(&tmp.path().join(".git")).is_empty());
}

#[test]
fn a_snapshot_holds_the_working_tree_not_the_index_and_not_ignored_files() {
    let (_tmp, git) = busy_repo();
    let s = snap(&git, None, "refs/zwarm/s/turn-1");
    assert_eq!(
        names(&git, &s.commit),
        [".gitignore", "a.txt", "b.txt", "new/c.txt"]
    );
    assert_eq!(show(&git, &s.commit, "a.txt"), "a staged then changed");
    assert_eq!(show(&git, &s.commit, "b.txt"), "b changed");
    assert_eq!(show(&git, &s.commit, "new/c.txt"), "c");
}

#[test]
fn untracked_files_over_the_cap_are_left_out_and_named_even_from_a_subfolder() {
    let (tmp, git) = repo();
    let p = tmp.path();
    fs::write(p.join("tracked-big.bin"), vec![b'x'; 300]).unwrap();
    git.run(["add", "."]).unwrap();
    git.run(["commit", "-q", "-m", "big"]).unwrap();
    fs::create_dir_all(p.join("sub/deep")).unwrap();
    fs::write(p.join("sub/deep/huge.bin"), vec![b'y'; 201]).unwrap();
    fs::write(p.join("sub/edge.bin"), vec![b'z'; 200]).unwrap();
    fs::write(p.join("small.txt"), "small\n").unwrap();
    let inside = Git::at(p.join("sub"));
    let s = snapshot(&inside, None, "refs/zwarm/s/turn-1", "m", 200).unwrap();
    assert_eq!(s.left_out, ["sub/deep/huge.bin"]);
    assert_eq!(
        names(&git, &s.commit),
        ["a.txt", "small.txt", "sub/edge.bin", "tracked-big.bin"]
    );
    // Never hashed: git has no object for it.
    let blob = git
        .run_with_input(["hash-object", "--stdin"], Some(&[b'y'; 201]))
        .unwrap();
    let blob = String::from_utf8(blob).unwrap();
    let known = git.output(["cat-file", "-e", blob.trim()], None).unwrap();
    assert!(!known.status.success());
}

#[test]
fn snapshots_chain_on_their_parent_and_the_first_on_head() {
    let (tmp, git) = repo();
    let head = git.commit_of("HEAD").unwrap();
    let s1 = snap(&git, None, "refs/zwarm/s/turn-1-start");
    fs::write(tmp.path().join("a.txt"), "changed\n").unwrap();
    let s2 = snap(&git, Some(&s1.commit), "refs/zwarm/s/turn-1");
    let s3 = snap(&git, Some("refs/zwarm/s/turn-1"), "refs/zwarm/s/turn-2");
    assert_eq!(git.commit_of(&format!("{}^", s1.commit)).unwrap(), head);
    assert_eq!(
        git.commit_of(&format!("{}^", s2.commit)).unwrap(),
        s1.commit
    );
    assert_eq!(
        git.commit_of(&format!("{}^", s3.commit)).unwrap(),
        s2.commit
    );
    let tree = |c: &str| git.line(["rev-parse", &format!("{c}^{{tree}}")]).unwrap();
    assert_eq!(tree(&s1.commit), tree(&head));
    assert_eq!(tree(&s3.commit), tree(&s2.commit));
    assert_ne!(tree(&s2.commit), tree(&s1.commit));
}

#[test]
fn a_linked_worktree_is_snapshotted_with_its_own_index_untouched() {
    let (tmp, git) = repo();
    let wt_dir = tmp.path().join("wt");
    git.run([
        "worktree",
        "add",
        "-q",
        "-b",
        "agent",
        wt_dir.to_str().unwrap(),
    ])
    .unwrap();
    let wt = Git::at(&wt_dir);
    fs::write(wt_dir.join("a.txt"), "in the worktree\n").unwrap();
    fs::write(wt_dir.join("w.txt"), "new\n").unwrap();
    let wt_index = tmp.path().join(".git/worktrees/wt/index");
    let main_index = tmp.path().join(".git/index");
    let (wt_before, main_before) = (fs::read(&wt_index).unwrap(), fs::read(&main_index).unwrap());
    let s = snap(&wt, None, "refs/zwarm/s/turn-1");
    assert_eq!(fs::read(&wt_index).unwrap(), wt_before);
    assert_eq!(fs::read(&main_index).unwrap(), main_before);
    assert_eq!(
        wt.line(["symbolic-ref", "HEAD"]).unwrap(),
        "refs/heads/agent"
    );
    // The ref is shared: the main checkout sees it.
    assert_eq!(git.commit_of("refs/zwarm/s/turn-1").unwrap(), s.commit);
    assert_eq!(show(&git, &s.commit, "a.txt"), "in the worktree");
    assert_eq!(names(&git, &s.commit), ["a.txt", "w.txt"]);
    assert!(leftovers(&tmp.path().join(".git/worktrees/wt")).is_empty());
}

#[test]
fn a_repository_without_commits_gets_a_parentless_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let git = Git::at(tmp.path());
    git.run(["init", "-q", "-b", "main"]).unwrap();
    fs::write(tmp.path().join("f.txt"), "f\n").unwrap();
    let s = snap(&git, None, "refs/zwarm/s/turn-1-start");
    assert_eq!(names(&git, &s.commit), ["f.txt"]);
    let parents = git.line(["log", "-1", "--format=%P", &s.commit]).unwrap();
    assert_eq!(parents, "");
    assert!(!tmp.path().join(".git/index").exists());
    assert!(head_commit(&git).unwrap().is_none());
}

#[test]
fn a_failed_snapshot_leaves_no_temporary_index_and_no_ref() {
    let (tmp, git) = repo();
    let err = snapshot(&git, Some("no-such"), "refs/zwarm/s/turn-1", "m", 1).unwrap_err();
    assert!(err.to_string().contains("commit-tree"), "{err}");
    assert!(leftovers(&tmp.path().join(".git")).is_empty());
    assert!(git.commit_of("refs/zwarm/s/turn-1").is_err());
}

#[test]
fn a_snapshot_ref_outside_refs_zwarm_is_refused_before_any_work() {
    let (tmp, git) = repo();
    let head = git.commit_of("HEAD").unwrap();
    for refname in ["HEAD", "refs/heads/main", "refs/zwarm/", "main"] {
        let err = snapshot(&git, None, refname, "m", SNAPSHOT_SIZE_CAP).unwrap_err();
        assert!(err.to_string().contains("under refs/zwarm/"), "{err}");
    }
    assert_eq!(git.commit_of("HEAD").unwrap(), head);
    assert_eq!(
        git.line(["symbolic-ref", "HEAD"]).unwrap(),
        "refs/heads/main"
    );
    assert!(leftovers(&tmp.path().join(".git")).is_empty());
}

#[test]
fn changes_count_files_lines_and_binaries_and_renames_once() {
    let (tmp, git) = repo();
    let p = tmp.path();
    let base = git.commit_of("HEAD").unwrap();
    let long: String = (0..20).map(|i| format!("line {i}\n")).collect();
    fs::write(p.join("long.txt"), &long).unwrap();
    git.run(["add", "."]).unwrap();
    git.run(["commit", "-q", "-m", "long"]).unwrap();
    let from = snap(&git, None, "refs/zwarm/s/turn-1-start");
    fs::write(p.join("a.txt"), "a\nb\nc\n").unwrap(); // +2
    fs::write(p.join("bin.dat"), [0u8, 1, 2, 0, 255]).unwrap(); // binary
    fs::rename(p.join("long.txt"), p.join("moved.txt")).unwrap(); // rename
    let to = snap(&git, Some(&from.commit), "refs/zwarm/s/turn-1");
    let c = changes(&git, &from.commit, &to.commit).unwrap();
    assert_eq!(
        c,
        Changes {
            files: 3,
            insertions: 2,
            deletions: 0
        }
    );
    fs::write(p.join("a.txt"), "").unwrap();
    let last = snap(&git, Some(&to.commit), "refs/zwarm/s/turn-2");
    let c = changes(&git, &to.commit, &last.commit).unwrap();
    assert_eq!((c.files, c.insertions, c.deletions), (1, 0, 3));
    let whole = changes(&git, &base, &last.commit).unwrap();
    assert_eq!((whole.files, whole.insertions, whole.deletions), (3, 20, 1));
    let json = serde_json::to_string(&whole).unwrap();
    assert_eq!(json, r#"{"files":3,"insertions":20,"deletions":1}"#);
}

#[test]
fn tree_state_sees_uncommitted_changes_and_commits_ahead() {
    let (tmp, git) = repo();
    let p = tmp.path();
    let base = git.commit_of("HEAD").unwrap();
    let state = |g: &Git| tree_state(g, &base).unwrap();
    assert_eq!(
        state(&git),
        TreeState {
            dirty: false,
            ahead: 0
        }
    );
    fs::write(p.join(".gitignore"), "*.log\n").unwrap();
    assert!(state(&git).dirty);
    git.run(["add", "."]).unwrap();
    git.run(["commit", "-q", "-m", "ignore"]).unwrap();
    fs::write(p.join("x.log"), "ignored\n").unwrap();
    assert_eq!(
        state(&git),
        TreeState {
            dirty: false,
            ahead: 1
        }
    );
    fs::write(p.join("a.txt"), "changed\n").unwrap();
    assert_eq!(
        state(&git),
        TreeState {
            dirty: true,
            ahead: 1
        }
    );
    git.run(["commit", "-q", "-a", "-m", "two"]).unwrap();
    assert_eq!(
        state(&git),
        TreeState {
            dirty: false,
            ahead: 2
        }
    );
    fs::write(p.join("untracked.txt"), "u\n").unwrap();
    assert_eq!(
        state(&git),
        TreeState {
            dirty: true,
            ahead: 2
        }
    );
}

#[test]
fn numstat_parsing_handles_plain_binary_and_renamed_records() {
    let out = b"1\t2\ta.txt\0-\t-\tbin\x000\t0\t\0old\0new\0";
    assert_eq!(
        parse_numstat(out),
        Changes {
            files: 3,
            insertions: 1,
            deletions: 2
        }
    );
    assert_eq!(parse_numstat(b""), Changes::default());
}
