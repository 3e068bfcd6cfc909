//! Sessions in git: `start --worktree` gives a session its own worktree and
//! branch; every turn's working tree is kept as snapshot commits that
//! `diff` and `apply` read; nothing touches the agent's index, HEAD or
//! branch, or the main checkout. Real git throughout; the fake agent edits
//! files the way an agent would.

use crate::support::contract::{decode, ApplyDoc, DiffDoc, ShowDoc};
use crate::support::fake::transcript;
use crate::support::output::{has, ANY, EMPTY};
use crate::support::world::World;
use std::path::Path;
use std::process::Command;

/// `git -C dir args...`, which must succeed; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The work dir as a repository with one commit of `a.txt`.
fn repo(w: &World) -> &Path {
    let dir = w.work.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "dev@example.com"]);
    git(dir, &["config", "user.name", "dev"]);
    std::fs::write(dir.join("a.txt"), "one\ntwo\n").unwrap();
    git(dir, &["add", "a.txt"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    dir
}

fn show(w: &World, id: &str) -> ShowDoc {
    let text = w
        .run(&["--json", "show", id])
        .expect(0, ANY, EMPTY)
        .stdout();
    decode("show --json", &text)
}

#[test]
fn a_worktree_session_works_on_its_own_branch_and_leaves_the_checkout_alone() {
    let w = World::new();
    let main = repo(&w);
    let head = git(main, &["rev-parse", "HEAD"]);
    w.agent
        .edit(1, "printf 'three\\n' >> a.txt; printf 'new\\n' > new.txt")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["-w", "add a file"]);
    assert_eq!(w.wait(&id), 0);
    let doc = show(&w, &id);
    let wt = doc.worktree.clone().expect("a worktree");
    let short = &id[..8];
    assert_eq!(wt.branch, format!("zwarm/{short}"));
    assert_eq!(wt.base, head.trim());
    assert_eq!(
        Path::new(&wt.path),
        w.state
            .path()
            .canonicalize()
            .unwrap()
            .join("worktrees")
            .join(short)
    );
    assert_eq!(w.agent.cwd(1), Path::new(&wt.path), "the agent ran there");
    assert_eq!(doc.working_dir, wt.path);
    // Locked, naming the session, for as long as zwarm keeps it.
    let list = git(main, &["worktree", "list", "--porcelain"]);
    assert!(
        list.contains(&format!("locked zwarm session {id}")),
        "{list}"
    );
    // The main checkout: not a byte changed, and the store is not in it.
    assert_eq!(
        std::fs::read_to_string(main.join("a.txt")).unwrap(),
        "one\ntwo\n"
    );
    assert!(!main.join("new.txt").exists());
    assert_eq!(git(main, &["status", "--porcelain"]), "");
    assert_eq!(git(main, &["rev-parse", "HEAD"]), head);
    // The turn's change, counted and shown.
    let turn = &doc.turn_records[0];
    let changes = turn.changes.clone().expect("changes");
    assert_eq!(
        (changes.files, changes.insertions, changes.deletions),
        (2, 2, 0)
    );
    assert_eq!(wt.dirty, Some(true), "codex leaves its work uncommitted");
    assert_eq!(wt.ahead, Some(0));
    let patch = w.run(&["diff", &id]).expect(0, has("+new"), EMPTY).stdout();
    assert!(
        patch.contains("a/a.txt") && patch.contains("+three"),
        "{patch}"
    );
    let stat = w
        .run(&["diff", "--turn", "1", "--stat", &id])
        .expect(0, has("new.txt"), EMPTY)
        .stdout();
    assert!(stat.contains("2 files changed"), "{stat}");
    let json: DiffDoc = decode(
        "diff --json",
        &w.run(&["--json", "diff", &id])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert_eq!((json.from.as_str(), json.changes.files), (head.trim(), 2));
    // `list` marks it.
    w.run(&["list"])
        .expect(0, has(&format!("⎇ zwarm/{short}")), EMPTY);
}

#[test]
fn apply_brings_the_change_back_uncommitted_or_changes_nothing_on_a_conflict() {
    let w = World::new();
    let main = repo(&w);
    w.agent
        .edit(1, "printf 'three\\n' >> a.txt; printf 'new\\n' > new.txt")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["-w", "add a file"]);
    assert_eq!(w.wait(&id), 0);
    // A conflicting edit here: nothing is applied, the file is named.
    std::fs::write(main.join("a.txt"), "one\nTWO\n").unwrap();
    let before = std::fs::read(main.join("a.txt")).unwrap();
    let doc: ApplyDoc = decode(
        "apply --json",
        &w.run(&["--json", "apply", &id])
            .expect(1, ANY, has("conflicts"))
            .stdout(),
    );
    assert!(!doc.applied);
    assert_eq!(doc.files, ["a.txt"]);
    assert_eq!(std::fs::read(main.join("a.txt")).unwrap(), before);
    assert!(!main.join("new.txt").exists(), "all or nothing");
    // Without it, the change arrives as uncommitted changes.
    git(main, &["checkout", "--", "a.txt"]);
    w.run(&["apply", &id]).expect(0, has("applied"), EMPTY);
    assert_eq!(
        std::fs::read_to_string(main.join("a.txt")).unwrap(),
        "one\ntwo\nthree\n"
    );
    assert_eq!(
        std::fs::read_to_string(main.join("new.txt")).unwrap(),
        "new\n"
    );
    assert_eq!(
        git(main, &["diff", "--cached", "--name-only"]),
        "",
        "nothing staged"
    );
}

#[test]
fn in_a_shared_checkout_each_turn_is_its_own_and_the_agents_git_state_is_untouched() {
    let w = World::new();
    let main = repo(&w);
    // Something staged: the agent's index must stay as it is.
    std::fs::write(main.join("a.txt"), "one\ntwo\nstaged\n").unwrap();
    git(main, &["add", "a.txt"]);
    let index = std::fs::read(main.join(".git/index")).unwrap();
    w.agent
        .edit(1, "printf 'agent one\\n' > one.txt")
        .edit(2, "printf 'agent two\\n' > two.txt")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["first"]);
    assert_eq!(w.wait(&id), 0);
    // A person's change between the turns is in neither turn's change.
    std::fs::write(main.join("person.txt"), "mine\n").unwrap();
    w.run(&["inject", &id, "second"]).expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 0);
    let two = w
        .run(&["diff", "--turn", "2", "--stat", &id])
        .expect(0, ANY, EMPTY)
        .stdout();
    assert!(
        two.contains("two.txt") && !two.contains("person.txt") && !two.contains("one.txt"),
        "{two}"
    );
    let all = w
        .run(&["diff", "--stat", &id])
        .expect(0, ANY, EMPTY)
        .stdout();
    assert!(all.contains("one.txt") && all.contains("two.txt"), "{all}");
    // Refs per turn, start and end; HEAD, branch and index as they were.
    let refs = git(
        main,
        &[
            "for-each-ref",
            "--format=%(refname)",
            &format!("refs/zwarm/{id}/"),
        ],
    );
    for n in 1..=2 {
        assert!(
            refs.contains(&format!("refs/zwarm/{id}/turn-{n}-start\n")),
            "{refs}"
        );
        assert!(
            refs.contains(&format!("refs/zwarm/{id}/turn-{n}\n")),
            "{refs}"
        );
    }
    assert_eq!(git(main, &["log", "--oneline"]).lines().count(), 1);
    assert_eq!(git(main, &["branch", "--show-current"]).trim(), "main");
    assert_eq!(std::fs::read(main.join(".git/index")).unwrap(), index);
    w.run(&["show", &id])
        .expect(0, has("shared checkout"), EMPTY);
}

#[test]
fn a_killed_turns_work_is_kept_in_its_snapshot() {
    let w = World::new();
    repo(&w);
    w.agent
        .edit(1, "printf 'half done\\n' > wip.txt")
        .turn(1, transcript("codex_sigterm.jsonl"))
        .hang(1);
    let id = w.start(&["long job"]);
    w.agent.wait_hanging(1, std::time::Duration::from_secs(10));
    w.run(&["kill", &id]).expect(0, ANY, EMPTY);
    let doc = show(&w, &id);
    let snap = doc.turn_records[0].snapshot.clone().expect("a snapshot");
    assert!(snap.end.is_some(), "{snap:?}");
    assert_eq!(
        doc.turn_records[0].changes.clone().map(|c| c.files),
        Some(1)
    );
    w.run(&["diff", &id]).expect(0, has("+half done"), EMPTY);
}

#[test]
fn bad_worktree_input_is_a_usage_error_and_creates_nothing() {
    let w = World::new();
    // Not a repository.
    w.run(&["start", "-w", "task"])
        .expect(2, EMPTY, has("not inside a git repository"));
    let main = repo(&w);
    git(main, &["branch", "zwarm/taken"]);
    for (args, says) in [
        (vec!["start", "--worktree=taken", "task"], "zwarm/taken"),
        (
            vec!["start", "-w", "--base", "no-such-ref", "task"],
            "no-such-ref",
        ),
        (vec!["start", "--worktree=bad..name", "task"], "bad..name"),
    ] {
        w.run(&args).expect(2, EMPTY, has(says));
    }
    assert!(w.json(&["list"])["sessions"].as_array().unwrap().is_empty());
    assert_eq!(git(main, &["worktree", "list"]).lines().count(), 1);
    assert_eq!(
        git(
            main,
            &["branch", "--format=%(refname:short)", "--list", "zwarm/*"]
        )
        .trim(),
        "zwarm/taken",
        "the existing branch is left as it was"
    );
    // `--base` means nothing without a worktree.
    w.run(&["start", "--base", "main", "task"])
        .expect(2, EMPTY, has("--worktree"));
}

#[test]
fn without_snapshots_diff_says_so() {
    let w = World::new();
    repo(&w);
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["--no-snapshot", "task"]);
    assert_eq!(w.wait(&id), 0);
    w.run(&["diff", &id])
        .expect(1, EMPTY, has("has no snapshots"));
    let refs = git(w.work.path(), &["for-each-ref", "refs/zwarm/"]);
    assert_eq!(refs, "");
    w.run(&["diff", "--turn", "7", &id])
        .expect(1, EMPTY, has("has no snapshots"));
}

#[test]
fn the_worktree_is_set_up_before_the_agent_and_a_failed_setup_runs_no_agent() {
    let w = World::new();
    let main = repo(&w);
    std::fs::write(main.join(".gitignore"), ".env\n").unwrap();
    std::fs::write(main.join(".worktreeinclude"), ".env\n").unwrap();
    git(main, &["add", ".gitignore", ".worktreeinclude"]);
    git(main, &["commit", "-q", "-m", "include"]);
    std::fs::write(main.join(".env"), "TOKEN=local\n").unwrap();
    w.agent
        .edit(1, "cat .env ready > seen.txt")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["-w", "--setup", "echo prepared; printf ok > ready", "task"]);
    assert_eq!(w.wait(&id), 0);
    let wt = show(&w, &id).worktree.expect("a worktree");
    let seen = std::fs::read_to_string(Path::new(&wt.path).join("seen.txt")).unwrap();
    assert_eq!(seen, "TOKEN=local\nok", "the agent found both");
    let log = w
        .state
        .path()
        .join("sessions")
        .join(&id)
        .join("turns/turn_1.setup.log");
    assert!(std::fs::read_to_string(log).unwrap().contains("prepared"));

    let calls = w.agent.calls();
    let out = w.run(&[
        "--json",
        "start",
        "-w",
        "--setup",
        "echo broken >&2; exit 3",
        "task",
    ]);
    out.expect(1, ANY, has("setup failed"));
    let failed = out.json();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["ending"], "setup_failed");
    assert!(
        failed["error"].as_str().unwrap().contains("broken"),
        "{failed}"
    );
    assert_eq!(w.agent.calls(), calls, "no agent ran");
}

#[test]
fn a_worktree_goes_with_its_session_only_when_nothing_in_it_would_be_lost() {
    let w = World::new();
    let main = repo(&w);
    w.agent
        .edit(1, "printf 'new\\n' > new.txt")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["-w", "task"]);
    assert_eq!(w.wait(&id), 0);
    let wt = show(&w, &id).worktree.expect("a worktree");
    let path = Path::new(&wt.path).to_path_buf();
    // Work after the last snapshot: refused by rm and by clean, naming it.
    std::fs::write(path.join("later.txt"), "by hand\n").unwrap();
    w.run(&["rm", &id]).expect(1, ANY, has("later.txt"));
    w.run(&["clean", "--older-than", "0s", "--yes"])
        .expect(1, ANY, has("later.txt"));
    assert!(path.join("later.txt").exists() && w.json(&["show", &id])["id"] == id.as_str());
    // Committed on the session's branch (as claude does), the branch is
    // not merged: it is not deleted, and then nothing is removed.
    git(&path, &["add", "later.txt"]);
    git(&path, &["commit", "-q", "-m", "by hand"]);
    w.run(&["rm", "--force", "--delete-branch", &id])
        .expect(2, EMPTY, has("not merged"));
    assert!(path.exists());
    // --force keeps the work as a ref, then removes the worktree; the
    // branch and the snapshot refs stay.
    w.run(&["rm", "--force", &id]).expect(0, ANY, EMPTY);
    assert!(!path.exists());
    assert_eq!(
        git(main, &["show", &format!("refs/zwarm/{id}/final:later.txt")]),
        "by hand\n"
    );
    assert_eq!(
        git(main, &["show", &format!("refs/zwarm/{id}/turn-1:new.txt")]),
        "new\n"
    );
    assert_eq!(
        git(
            main,
            &["branch", "--format=%(refname:short)", "--list", &wt.branch]
        )
        .trim(),
        wt.branch
    );
    assert_eq!(git(main, &["worktree", "list"]).lines().count(), 1);

    // A session whose worktree holds nothing new goes at once, and a merged
    // branch with it when asked.
    let id = w.start(&["-w", "again"]);
    assert_eq!(w.wait(&id), 0);
    let wt = show(&w, &id).worktree.expect("a worktree");
    w.run(&["rm", "--delete-branch", &id]).expect(0, ANY, EMPTY);
    assert!(!Path::new(&wt.path).exists());
    assert_eq!(
        git(
            main,
            &["branch", "--format=%(refname:short)", "--list", &wt.branch]
        ),
        "",
        "merged: it had no commits"
    );
}

/// The real agent CLIs, asked by their mock model to write a file: in a
/// worktree session the file lands in the worktree, `diff` shows exactly
/// it, and the main checkout is untouched.
fn a_real_agent_writes_in_its_worktree(agent: crate::support::e2e::Agent, adapter: &str) {
    let w = World::with_agents(vec![agent]);
    let main = repo(&w);
    let work = main.to_str().unwrap().to_owned();
    let task = "SCN_CMD printf 'from the agent\\n' > agent.txt";
    let id = w
        .run(&["start", "-a", adapter, "-w", "-C", &work, task])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_owned();
    let (code, s) = w.wait_shown(&id);
    assert_eq!(code, 0, "{s:#}");
    let wt = s["worktree"]["path"].as_str().unwrap().to_owned();
    assert_eq!(
        std::fs::read_to_string(Path::new(&wt).join("agent.txt")).unwrap(),
        "from the agent\n"
    );
    assert!(!main.join("agent.txt").exists());
    assert_eq!(git(main, &["status", "--porcelain"]), "");
    let stat = w
        .run(&["diff", "--stat", &id])
        .expect(0, ANY, EMPTY)
        .stdout();
    assert_eq!(stat.lines().count(), 2, "one file: {stat}");
    assert!(stat.contains("agent.txt"), "{stat}");
    let doc = show(&w, &id);
    let changes = doc.turn_records[0].changes.clone().expect("changes");
    assert_eq!((changes.files, changes.insertions), (1, 1));
}

#[test]
fn codex_writes_in_its_worktree_and_diff_shows_exactly_that() {
    let mock = crate::support::mock_responses::MockServer::start();
    a_real_agent_writes_in_its_worktree(crate::support::e2e::codex(mock.port()), "codex");
}

#[test]
fn claude_writes_in_its_worktree_and_diff_shows_exactly_that() {
    let mock = crate::support::mock_messages::MockServer::start();
    a_real_agent_writes_in_its_worktree(crate::support::e2e::claude(mock.port()), "claude");
}

#[test]
fn doctor_reports_what_git_keeps_for_gone_sessions_and_removes_none_of_it() {
    let w = World::new();
    let main = repo(&w);
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let gone = w.start(&["-w", "gone"]);
    let vanished = w.start(&["-w", "vanished"]);
    assert_eq!((w.wait(&gone), w.wait(&vanished)), (0, 0));
    let gone_wt = show(&w, &gone).worktree.expect("a worktree");
    let vanished_wt = show(&w, &vanished).worktree.expect("a worktree");
    // A session removed behind zwarm's back, its worktree left; another
    // whose worktree was deleted by hand.
    std::fs::remove_dir_all(w.state.path().join("sessions").join(&gone)).unwrap();
    std::fs::remove_dir_all(&vanished_wt.path).unwrap();
    for fix in [false, true] {
        let args: &[&str] = if fix {
            &["--json", "doctor", "--fix"]
        } else {
            &["--json", "doctor"]
        };
        let doc = w.run(args).expect(1, ANY, EMPTY).json();
        let kinds: Vec<(String, String)> = doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["kind"].as_str().unwrap().to_owned(),
                    p["session"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        for want in [
            ("missing_worktree".to_owned(), vanished.clone()),
            ("orphan_worktree".to_owned(), String::new()),
            ("orphan_snapshots".to_owned(), gone.clone()),
            ("orphan_branch".to_owned(), gone.clone()),
        ] {
            assert!(kinds.contains(&want), "{want:?} in {kinds:?}");
        }
    }
    // Nothing of it was removed.
    assert!(Path::new(&gone_wt.path).is_dir());
    assert_eq!(
        git(
            main,
            &[
                "branch",
                "--format=%(refname:short)",
                "--list",
                &gone_wt.branch
            ]
        )
        .trim(),
        gone_wt.branch
    );
    assert!(!git(main, &["for-each-ref", &format!("refs/zwarm/{gone}/")]).is_empty());
}

#[test]
fn a_second_agent_in_the_same_checkout_is_warned_about() {
    let w = World::new();
    repo(&w);
    let first = w.start_hanging(&[]);
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let out = w.run(&["start", "second"]);
    out.expect(
        0,
        ANY,
        has(&format!(
            "session {} is running in this checkout too",
            &first[..8]
        )),
    );
    let second = out.stdout().trim().to_owned();
    assert_eq!(w.wait(&second), 0);
    // With a worktree of its own, nothing to warn about.
    let third = w.start(&["-w", "third"]);
    assert_eq!(w.wait(&third), 0);
    // Without snapshots, whether this is a repository is asked of git.
    let out = w.run(&["start", "--no-snapshot", "fourth"]);
    out.expect(
        0,
        ANY,
        has(&format!(
            "session {} is running in this checkout too",
            &first[..8]
        )),
    );
    assert_eq!(w.wait(out.stdout().trim()), 0);
    w.run(&["kill", &first]).expect(0, ANY, EMPTY);
}

#[test]
fn commit_turns_records_each_turns_result_on_the_branch() {
    let w = World::new();
    let main = repo(&w);
    w.agent
        .edit(1, "printf 'one\\n' > one.txt")
        .edit(2, "true")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["-w", "--commit-turns", "task"]);
    assert_eq!(w.wait(&id), 0);
    w.run(&["inject", &id, "nothing this time"])
        .expect(0, ANY, EMPTY);
    assert_eq!(w.wait(&id), 0);
    let doc = show(&w, &id);
    let wt = doc.worktree.clone().expect("a worktree");
    assert_eq!(
        (wt.dirty, wt.ahead),
        (Some(false), Some(1)),
        "one turn changed something"
    );
    let log = git(main, &["log", "--format=%an|%s", &wt.branch]);
    let first = log.lines().next().unwrap();
    assert_eq!(
        first,
        format!("zwarm|zwarm: session {id} turn 1, its result")
    );
    assert_eq!(
        git(main, &["show", &format!("{}:one.txt", wt.branch)]),
        "one\n"
    );
    assert_eq!(
        git(Path::new(&wt.path), &["status", "--porcelain"]),
        "",
        "index reset to it"
    );
    // Nothing beyond its snapshots: it goes; the branch is not merged, so
    // it stays.
    w.run(&["rm", &id]).expect(0, ANY, EMPTY);
    assert!(!Path::new(&wt.path).exists());
    assert!(!git(
        main,
        &["branch", "--format=%(refname:short)", "--list", &wt.branch]
    )
    .is_empty());
    w.run(&["start", "--commit-turns", "task"])
        .expect(2, EMPTY, has("--worktree"));
}

#[test]
fn clean_says_what_a_worktree_holds_and_drops_old_snapshots_only_when_asked() {
    let w = World::new();
    let main = repo(&w);
    w.agent
        .edit(1, "printf 'x\\n' > x.txt")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start(&["-w", "task"]);
    assert_eq!(w.wait(&id), 0);
    let dry = w
        .run(&["clean", "--older-than", "0s"])
        .expect(0, has("its worktree"), ANY)
        .stdout();
    assert!(dry.contains("MB, last changed"), "{dry}");
    w.run(&["clean", "--older-than", "0s", "--yes"])
        .expect(0, ANY, EMPTY);
    let refs = || {
        git(
            main,
            &[
                "for-each-ref",
                "--format=%(refname)",
                &format!("refs/zwarm/{id}/"),
            ],
        )
    };
    assert!(!refs().is_empty(), "kept without --snapshots");
    // Too recent for a day's cut-off; dropped at 0s, and only with --yes.
    let doc = w.json(&["clean", "--snapshots", "--older-than", "1d"]);
    assert_eq!(doc["snapshots"], serde_json::json!([]));
    let doc = w.json(&["clean", "--snapshots", "--older-than", "0s"]);
    assert_eq!(doc["snapshots"][0]["id"], id.as_str());
    assert!(!refs().is_empty(), "a dry run drops nothing");
    w.run(&["clean", "--snapshots", "--older-than", "0s", "--yes"])
        .expect(0, has("dropped the 3 snapshot refs"), EMPTY);
    assert_eq!(refs(), "");
}

#[test]
fn ten_worktree_sessions_started_at_once_in_one_repository_all_get_their_own() {
    let w = World::new();
    let main = repo(&w);
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let children: Vec<_> = (0..10)
        .map(|n| {
            w.cmd(&["start", "-w", &format!("task {n}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        })
        .collect();
    for id in &ids {
        assert_eq!(w.wait(id), 0);
    }
    let branches = git(
        main,
        &["branch", "--format=%(refname:short)", "--list", "zwarm/*"],
    );
    assert_eq!(branches.lines().count(), 10, "{branches}");
    assert_eq!(git(main, &["worktree", "list"]).lines().count(), 11);
}
