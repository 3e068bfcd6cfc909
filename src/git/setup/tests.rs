use super::*;
use crate::git::tests::repo;
use crate::git::worktree::tests::spec;
use crate::git::worktree::{changed_files, create, remove, Leftovers};
use std::os::unix::fs::PermissionsExt;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn copies_what_worktreeinclude_names_and_git_ignores() {
    let (tmp, git) = repo();
    let main = tmp.path();
    write(&main.join(".gitignore"), ".env\nnode_modules/\nbuild/\n");
    write(&main.join("tracked.env"), "tracked\n");
    git.run(["add", ".gitignore", "tracked.env"]).unwrap();
    git.run(["commit", "-q", "-m", "ignores"]).unwrap();
    write(
        &main.join(INCLUDE),
        "# what a checkout lacks\n.env\nnode_modules/\n*.env\nloose.txt\n",
    );
    write(&main.join(".env"), "SECRET=1\n");
    std::fs::set_permissions(main.join(".env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    write(&main.join("node_modules/pkg/index.js"), "js\n");
    write(&main.join("node_modules/.bin/real"), "#!/bin/sh\n");
    std::fs::set_permissions(
        main.join("node_modules/.bin/real"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("../pkg/index.js", main.join("node_modules/.bin/tool")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", main.join("node_modules/outside")).unwrap();
    write(&main.join("build/out.o"), "o\n");
    write(&main.join("loose.txt"), "untracked, not ignored\n");

    let wt = create(&spec(main, &main.join(".zwarm"))).unwrap();
    // Something the store holds is never copied, whatever the patterns.
    write(&main.join(".zwarm/sessions/x/secret.env"), "store\n");
    let log = main.join(".zwarm/setup.log");
    setup(&wt, main, None, &log).unwrap();

    let w = &wt.path;
    assert_eq!(std::fs::read(w.join(".env")).unwrap(), b"SECRET=1\n");
    assert_eq!(mode(&w.join(".env")), 0o600);
    assert_eq!(
        std::fs::read(w.join("node_modules/pkg/index.js")).unwrap(),
        b"js\n"
    );
    assert_eq!(mode(&w.join("node_modules/.bin/real")), 0o755);
    assert_eq!(
        std::fs::read_link(w.join("node_modules/.bin/tool")).unwrap(),
        Path::new("../pkg/index.js")
    );
    assert_eq!(
        std::fs::read_link(w.join("node_modules/outside")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert!(!w.join("build").exists());
    assert!(!w.join("loose.txt").exists());
    assert!(!w.join(".zwarm").exists());
    assert_eq!(std::fs::read(w.join("tracked.env")).unwrap(), b"tracked\n");
    // Copies are ignored in the worktree too: nothing looks like work.
    assert_eq!(changed_files(&wt).unwrap(), Vec::<String>::new());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("5 copied, 0 already there"), "{logged}");
}

#[test]
fn without_worktreeinclude_or_command_nothing_happens() {
    let (tmp, _git) = repo();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    let log = tmp.path().join(".zwarm/setup.log");
    setup(&wt, tmp.path(), None, &log).unwrap();
    assert_eq!(std::fs::read(&log).unwrap(), b"");
    assert_eq!(changed_files(&wt).unwrap(), Vec::<String>::new());
}

#[test]
fn submodules_are_initialised() {
    let (tmp, git) = repo();
    let (sub_tmp, sub) = repo();
    let local = ["-c", "protocol.file.allow=always"];
    git.run(
        local
            .iter()
            .map(OsStr::new)
            .chain([OsStr::new("submodule"), OsStr::new("add"), OsStr::new("-q")])
            .chain([sub_tmp.path().as_os_str(), OsStr::new("sm")]),
    )
    .unwrap();
    git.run(["commit", "-q", "-m", "submodule"]).unwrap();

    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    assert!(!wt.path.join("sm/a.txt").exists());
    let mut in_wt = Git::at(&wt.path);
    // Modern git clones no local path without being told it may.
    for (key, value) in [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "protocol.file.allow"),
        ("GIT_CONFIG_VALUE_0", "always"),
    ] {
        in_wt.env.push((key.into(), value.into()));
    }
    let log = tmp.path().join(".zwarm/setup.log");
    setup_with(&in_wt, &wt, tmp.path(), None, &log).unwrap();
    assert_eq!(std::fs::read(wt.path.join("sm/a.txt")).unwrap(), b"a\n");
    assert_eq!(
        Git::at(wt.path.join("sm")).commit_of("HEAD").unwrap(),
        sub.commit_of("HEAD").unwrap()
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("$ git submodule update --init --recursive"),
        "{logged}"
    );

    // A worktree with submodules, clean, is still removed.
    remove(&wt, Leftovers::Refuse).unwrap();
    assert!(!wt.path.exists());
}

#[test]
fn a_submodule_that_cannot_be_cloned_fails_the_setup() {
    let (tmp, git) = repo();
    let (sub_tmp, _sub) = repo();
    git.run([
        OsStr::new("-c"),
        OsStr::new("protocol.file.allow=always"),
        OsStr::new("submodule"),
        OsStr::new("add"),
        OsStr::new("-q"),
        sub_tmp.path().as_os_str(),
        OsStr::new("sm"),
    ])
    .unwrap();
    git.run(["commit", "-q", "-m", "submodule"]).unwrap();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    drop(sub_tmp);
    let log = tmp.path().join(".zwarm/setup.log");
    let err = setup(&wt, tmp.path(), Some("touch ran"), &log).unwrap_err();
    assert_eq!(err.step, "git submodule update --init --recursive");
    assert!(!err.last_lines.is_empty());
    assert!(!wt.path.join("ran").exists());
}

#[test]
fn the_setup_command_runs_in_the_worktree_and_is_logged() {
    let (tmp, _git) = repo();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    let log = tmp.path().join(".zwarm/setup.log");
    setup(
        &wt,
        tmp.path(),
        Some("echo hello; echo warning >&2; pwd > here"),
        &log,
    )
    .unwrap();
    let here = std::fs::read_to_string(wt.path.join("here")).unwrap();
    assert_eq!(Path::new(here.trim_end()), wt.path);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("$ echo hello"), "{logged}");
    assert!(
        logged.contains("hello\n") && logged.contains("warning\n"),
        "{logged}"
    );
}

#[test]
fn a_failing_setup_command_reports_its_last_stderr_lines() {
    let (tmp, _git) = repo();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    let log = tmp.path().join(".zwarm/setup.log");
    let cmd = "echo out; for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 3";
    let err = setup(&wt, tmp.path(), Some(cmd), &log).unwrap_err();
    assert_eq!(err.step, format!("setup command `{cmd}`"));
    assert_eq!(err.last_lines, "line3\nline4\nline5\nline6\nline7");
    assert!(err.to_string().starts_with("setup failed (setup command"));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("out\n") && logged.contains("line1\n"),
        "{logged}"
    );

    let err = setup(&wt, tmp.path(), Some("exit 4"), &log).unwrap_err();
    assert_eq!(
        err.last_lines,
        "exited with status 4, saying nothing on stderr"
    );
}

#[test]
fn a_link_at_the_log_is_not_followed() {
    let (tmp, _git) = repo();
    let wt = create(&spec(tmp.path(), &tmp.path().join(".zwarm"))).unwrap();
    let target = tmp.path().join("precious");
    std::fs::write(&target, "keep\n").unwrap();
    let log = tmp.path().join(".zwarm/setup.log");
    std::os::unix::fs::symlink(&target, &log).unwrap();
    let err = setup(&wt, tmp.path(), Some("echo x"), &log).unwrap_err();
    assert_eq!(err.step, "opening the setup log");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep\n");
}
