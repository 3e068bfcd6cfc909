use super::*;
use crate::git::tests::repo;

pub(crate) const SESSION: &str = "0123abcd-0000-4000-8000-000000000000";

pub(crate) fn spec<'a>(working_dir: &'a Path, store_root: &'a Path) -> WorktreeSpec<'a> {
    WorktreeSpec {
        working_dir,
        store_root,
        session_id: SESSION,
        short_id: "0123abcd",
        name: None,
        base: "HEAD",
    }
}

fn branches(git: &Git) -> String {
    String::from_utf8(git.run(["show-ref", "--heads"]).unwrap()).unwrap()
}

fn porcelain(git: &Git) -> String {
    String::from_utf8(git.run(["worktree", "list", "--porcelain"]).unwrap()).unwrap()
}

fn status(git: &Git) -> String {
    String::from_utf8(git.run(["status", "--porcelain"]).unwrap()).unwrap()
}

#[test]
fn makes_a_locked_worktree_on_a_new_branch_inside_the_store() {
    let (tmp, git) = repo();
    let store = tmp.path().join(".zwarm");
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    let wt = create(&spec(&tmp.path().join("sub"), &store)).unwrap();

    let real = tmp.path().canonicalize().unwrap();
    assert_eq!(wt.path, real.join(".zwarm/worktrees/0123abcd"));
    assert_eq!(wt.branch, "zwarm/0123abcd");
    assert_eq!(wt.base, git.commit_of("HEAD").unwrap());
    assert_eq!(wt.base_branch.as_deref(), Some("main"));
    assert_eq!(wt.repo, real);
    assert!(!wt.uncommitted_left_behind);
    assert!(exists(&wt));

    let list = porcelain(&git);
    assert!(
        list.contains(&format!(
            "worktree {}\nHEAD {}\nbranch refs/heads/zwarm/0123abcd\nlocked zwarm session {SESSION}\n",
            wt.path.display(),
            wt.base
        )),
        "{list}"
    );
    let inside = Git::at(&wt.path);
    assert_eq!(
        inside.line(["branch", "--show-current"]).unwrap(),
        wt.branch
    );
    assert_eq!(std::fs::read(wt.path.join("a.txt")).unwrap(), b"a\n");
    assert_eq!(status(&inside), "");
    // The store, worktrees and all, stays out of the checkout's status.
    assert_eq!(std::fs::read(store.join(".gitignore")).unwrap(), b"*\n");
    assert_eq!(status(&git), "");

    let json = serde_json::to_string(&wt).unwrap();
    assert_eq!(serde_json::from_str::<Worktree>(&json).unwrap(), wt);
}

#[test]
fn a_name_names_the_branch_and_a_base_its_commit() {
    let (tmp, git) = repo();
    let first = git.commit_of("HEAD").unwrap();
    std::fs::write(tmp.path().join("a.txt"), "b\n").unwrap();
    git.run(["commit", "-q", "-am", "second"]).unwrap();
    let store = tmp.path().join(".zwarm");
    let wt = create(&WorktreeSpec {
        name: Some("feature/x"),
        base: "HEAD~1",
        ..spec(tmp.path(), &store)
    })
    .unwrap();
    assert_eq!(wt.branch, "zwarm/feature/x");
    assert!(wt.path.ends_with("worktrees/0123abcd"));
    assert_eq!(wt.base, first);
    assert_eq!(wt.base_branch, None);
    assert_eq!(std::fs::read(wt.path.join("a.txt")).unwrap(), b"a\n");
    assert_eq!(git.commit_of("zwarm/feature/x").unwrap(), first);

    let by_branch = create(&WorktreeSpec {
        short_id: "5678",
        base: "main",
        ..spec(tmp.path(), &store)
    })
    .unwrap();
    assert_eq!(by_branch.base_branch.as_deref(), Some("main"));
    assert_eq!(by_branch.base, git.commit_of("main").unwrap());
}

#[test]
fn a_branch_that_exists_is_neither_reused_nor_touched() {
    let (tmp, git) = repo();
    let store = tmp.path().join(".zwarm");
    let first = create(&WorktreeSpec {
        name: Some("taken"),
        ..spec(tmp.path(), &store)
    })
    .unwrap();
    std::fs::write(first.path.join("a.txt"), "mine\n").unwrap();
    let (refs, list) = (branches(&git), porcelain(&git));

    let err = create(&WorktreeSpec {
        name: Some("taken"),
        short_id: "other",
        ..spec(tmp.path(), &store)
    })
    .unwrap_err();
    assert!(matches!(err, WorktreeError::BranchExists { .. }), "{err:?}");
    assert!(err.is_usage());
    assert!(
        err.to_string().contains("zwarm/taken already exists"),
        "{err}"
    );
    assert_eq!((branches(&git), porcelain(&git)), (refs, list));
    assert!(!store.join("worktrees/other").exists());
    assert_eq!(std::fs::read(first.path.join("a.txt")).unwrap(), b"mine\n");

    // A branch made by hand is no different.
    git.run(["branch", "zwarm/mine"]).unwrap();
    let err = create(&WorktreeSpec {
        name: Some("mine"),
        short_id: "third",
        ..spec(tmp.path(), &store)
    })
    .unwrap_err();
    assert!(matches!(err, WorktreeError::BranchExists { .. }), "{err:?}");
}

#[test]
fn bad_input_is_refused_before_anything_is_made() {
    let (tmp, git) = repo();
    let store = tmp.path().join(".zwarm");
    let refs = branches(&git);
    let bad_base = create(&WorktreeSpec {
        base: "no-such-ref",
        ..spec(tmp.path(), &store)
    })
    .unwrap_err();
    assert!(
        bad_base
            .to_string()
            .contains("'no-such-ref' names no commit"),
        "{bad_base}"
    );
    for name in ["a..b", "-x", "", "a b", "x.lock", "@{-1}"] {
        let err = create(&WorktreeSpec {
            name: Some(name),
            ..spec(tmp.path(), &store)
        })
        .unwrap_err();
        assert!(
            matches!(err, WorktreeError::BadName { .. }),
            "{name}: {err:?}"
        );
        assert!(err.is_usage());
    }
    let bad_id = create(&WorktreeSpec {
        short_id: "../x",
        ..spec(tmp.path(), &store)
    })
    .unwrap_err();
    assert!(matches!(bad_id, WorktreeError::BadName { .. }));
    assert!(bad_base.is_usage());
    assert_eq!(branches(&git), refs);
    assert!(!store.exists());

    let outside = tempfile::tempdir().unwrap();
    let err = create(&spec(outside.path(), &outside.path().join(".zwarm"))).unwrap_err();
    assert!(matches!(err, WorktreeError::NotARepo(_)), "{err:?}");
    assert!(err.to_string().contains("not inside a git repository"));

    let bare = outside.path().join("bare.git");
    git.run([
        OsStr::new("init"),
        OsStr::new("-q"),
        OsStr::new("--bare"),
        bare.as_os_str(),
    ])
    .unwrap();
    let err = create(&spec(&bare, &outside.path().join(".zwarm"))).unwrap_err();
    assert!(matches!(err, WorktreeError::Bare(_)), "{err:?}");
    assert!(err.is_usage());
    assert!(!outside.path().join(".zwarm").exists());
}

#[test]
fn uncommitted_changes_are_flagged_and_left_behind() {
    let (tmp, git) = repo();
    std::fs::write(tmp.path().join("a.txt"), "changed\n").unwrap();
    std::fs::write(tmp.path().join("new.txt"), "new\n").unwrap();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    assert!(wt.uncommitted_left_behind);
    assert_eq!(std::fs::read(wt.path.join("a.txt")).unwrap(), b"a\n");
    assert!(!wt.path.join("new.txt").exists());
    // The checkout keeps its changes.
    assert_eq!(
        std::fs::read(tmp.path().join("a.txt")).unwrap(),
        b"changed\n"
    );
    assert_eq!(status(&git), " M a.txt\n?? new.txt\n");
}

#[test]
fn ten_sessions_at_once_all_get_their_worktree() {
    let (tmp, git) = repo();
    let store = tmp.path().join(".zwarm");
    let made: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let store = &store;
                let root = tmp.path();
                s.spawn(move || {
                    let short = format!("s{i}");
                    create(&WorktreeSpec {
                        short_id: &short,
                        ..spec(root, store)
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut names: Vec<_> = made.into_iter().map(|r| r.unwrap().branch).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 10);
    assert_eq!(porcelain(&git).matches("locked zwarm session").count(), 10);
    assert_eq!(status(&git), "");
}

#[test]
fn a_link_in_the_store_is_not_followed() {
    let (tmp, git) = repo();
    let store = tmp.path().join(".zwarm");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(&store).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), store.join("worktrees")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path().join("ignored"), store.join(".gitignore")).unwrap();
    let refs = branches(&git);
    let err = create(&spec(tmp.path(), &store)).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    assert_eq!(branches(&git), refs);
}

#[test]
fn remove_refuses_changes_unless_told_they_are_saved_and_keeps_the_branch() {
    let (tmp, git) = repo();
    let store = tmp.path().join(".zwarm");
    let wt = create(&spec(tmp.path(), &store)).unwrap();
    std::fs::write(wt.path.join("a.txt"), "changed\n").unwrap();
    std::fs::write(wt.path.join("new.txt"), "new\n").unwrap();

    let err = remove(&wt, Leftovers::Refuse).unwrap_err();
    assert!(matches!(err, WorktreeError::Dirty { .. }), "{err:?}");
    assert!(
        err.to_string().ends_with("holds changes: a.txt, new.txt"),
        "{err}"
    );
    assert!(exists(&wt));
    assert!(porcelain(&git).contains(&format!("locked {}", lock_reason(SESSION))));

    remove(&wt, Leftovers::Discard).unwrap();
    assert!(!exists(&wt) && !wt.path.exists());
    assert_eq!(git.commit_of(&wt.branch).unwrap(), wt.base);
    // Removing what is gone is no error.
    remove(&wt, Leftovers::Refuse).unwrap();

    let clean = create(&WorktreeSpec {
        short_id: "clean",
        ..spec(tmp.path(), &store)
    })
    .unwrap();
    remove(&clean, Leftovers::Refuse).unwrap();
    assert!(!clean.path.exists());
    assert!(!porcelain(&git).contains("clean"));
}

#[test]
fn a_worktree_whose_folder_went_is_unregistered() {
    let (tmp, git) = repo();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    std::fs::remove_dir_all(&wt.path).unwrap();
    assert!(!exists(&wt));
    remove(&wt, Leftovers::Refuse).unwrap();
    assert!(!porcelain(&git).contains("0123abcd"));
}

#[test]
fn a_branch_is_deleted_only_once_merged_and_not_checked_out() {
    let (tmp, git) = repo();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    let err = delete_branch_if_merged(&wt, "main").unwrap_err();
    assert!(matches!(err, WorktreeError::CheckedOut { .. }), "{err:?}");

    let inside = Git::at(&wt.path);
    std::fs::write(wt.path.join("b.txt"), "b\n").unwrap();
    inside.run(["add", "b.txt"]).unwrap();
    inside.run(["commit", "-q", "-m", "work"]).unwrap();
    remove(&wt, Leftovers::Refuse).unwrap();
    assert!(!delete_branch_if_merged(&wt, "main").unwrap());
    assert!(git.commit_of(&wt.branch).is_ok());
    assert!(matches!(
        delete_branch_if_merged(&wt, "nowhere"),
        Err(WorktreeError::BadBase { .. })
    ));

    git.run(["merge", "-q", "--ff-only", &wt.branch]).unwrap();
    assert!(delete_branch_if_merged(&wt, "main").unwrap());
    assert!(git.commit_of(&wt.branch).is_err());
    assert!(matches!(
        delete_branch_if_merged(&wt, "main"),
        Err(WorktreeError::NoBranch { .. })
    ));
}

#[test]
fn the_porcelain_list_is_parsed() {
    let out = b"worktree /r\0HEAD 1\0branch refs/heads/main\0\0\
                worktree /w\0HEAD 2\0detached\0locked\0\0\
                worktree /x\0HEAD 3\0branch refs/heads/zwarm/x\0locked zwarm session 1\0\0";
    let all = parse_list(out);
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].branch.as_deref(), Some("refs/heads/main"));
    assert_eq!(all[0].locked, None);
    assert_eq!(
        (all[1].branch.as_deref(), all[1].locked.as_deref()),
        (None, Some(""))
    );
    assert_eq!(all[2].path, Path::new("/x"));
    assert_eq!(all[2].locked.as_deref(), Some("zwarm session 1"));
}
