//! The `--json` contract from the consumer's side, for the documents of
//! the commands that act (`kill`, `rm`, `wait`, `clean`, `doctor`) and the
//! exit code of each: decoded by the strict types of `support/contract.rs`.

use crate::support::contract::*;
use crate::support::fake::transcript;
use crate::support::world::World;

/// A recorded transcript without its last line: a turn still under way.
fn unfinished(name: &str) -> String {
    let t = transcript(name);
    let mut lines: Vec<&str> = t.lines().collect();
    lines.pop();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn kill_and_rm_documents() {
    let w = World::new();
    w.agent.every_turn(&unfinished("codex_first_turn.jsonl"));
    w.agent.hang(1).hang(2).hang(3);
    let a = w.start(&["a"]);
    let b = w.start(&["b"]);
    let c = w.start(&["c"]);

    let (code, out) = w.json_any(&["kill", &a]);
    assert_eq!(code, 0, "{out}");
    let doc: ActionDoc = decode("kill --json", &out);
    assert_eq!(doc.schema_version, SCHEMA_VERSION);
    let r = &doc.results[0];
    assert_eq!(
        (r.id.as_str(), r.ok, r.status, &r.error),
        (a.as_str(), true, Some(Status::Killed), &None)
    );

    // One id failing does not stop the others; the worst code wins.
    // Ids may be given as prefixes; results name sessions by their full id.
    let (code, out) = w.json_any(&["kill", &a[..8], "deadbeef", &b[..6]]);
    assert_eq!(code, 3, "{out}");
    let doc: ActionDoc = decode("kill --json", &out);
    let oks: Vec<(bool, Option<Status>)> = doc.results.iter().map(|r| (r.ok, r.status)).collect();
    assert_eq!(
        oks,
        [(false, None), (false, None), (true, Some(Status::Killed))]
    );
    assert!(doc.results[0]
        .error
        .as_deref()
        .unwrap()
        .contains("not running"));
    let ids: Vec<&str> = doc.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [a.as_str(), "deadbeef", b.as_str()]);

    let (code, out) = w.json_any(&["rm", &c[..8]]);
    assert_eq!(code, 5, "running, so refused: {out}");
    let doc: ActionDoc = decode("rm --json", &out);
    assert!(!doc.results[0].ok && doc.results[0].error.is_some());
    assert_eq!(doc.results[0].id, c);

    let (code, out) = w.json_any(&["rm", "--force", &a, &c]);
    assert_eq!(code, 0, "{out}");
    let doc: ActionDoc = decode("rm --json", &out);
    assert!(doc.results.iter().all(|r| r.ok));
    assert_eq!(
        doc.results[1].status,
        Some(Status::Killed),
        "as it was removed"
    );

    let (code, out) = w.json_any(&["kill", "--all", "--delete"]);
    assert_eq!(code, 0, "{out}");
    let doc: ActionDoc = decode("kill --all --json", &out);
    assert!(doc.results.is_empty(), "b is already killed: {out}");
}

#[test]
fn wait_document() {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_failed.jsonl"))
        .exit(2, 1);
    let ok = w.start_and_wait(&["one"]);
    let bad = w.start_and_wait(&["two"]);
    let (code, out) = w.json_any(&["wait", &ok, &bad]);
    assert_eq!(code, 4);
    let doc: WaitDoc = decode("wait --json", &out);
    assert_eq!((doc.schema_version, doc.timed_out), (SCHEMA_VERSION, false));
    let got: Vec<(&str, Status, Option<Ending>)> = doc
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s.status, s.ending))
        .collect();
    assert_eq!(
        got,
        [
            (ok.as_str(), Status::Completed, Some(Ending::Completed)),
            (bad.as_str(), Status::Failed, Some(Ending::Failed))
        ],
        "in the order asked for"
    );
    assert_eq!(doc.sessions[1].exit_code, Some(1));
}

#[test]
fn clean_document() {
    let w = World::new();
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let id = w.start_and_wait(&["old"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let dry: CleanDoc = decode(
        "clean --json",
        &w.json_any(&["clean", "--older-than", "10ms"]).1,
    );
    assert_eq!((dry.schema_version, dry.dry_run), (SCHEMA_VERSION, true));
    assert_eq!(dry.sessions.len(), 1);
    assert_eq!(dry.sessions[0].id, id);
    assert!(w.session_dir(&id).exists());

    let (code, out) = w.json_any(&["clean", "--older-than", "10ms", "--yes"]);
    assert_eq!(code, 0);
    let done: CleanDoc = decode("clean --yes --json", &out);
    assert!(!done.dry_run);
    assert_eq!(done.sessions[0].id, id);
    assert!(!w.session_dir(&id).exists());

    let none: CleanDoc = decode("clean --json", &w.json_any(&["clean"]).1);
    assert!(none.sessions.is_empty() && none.failed.is_empty());

    // A session folder that no rename can move (a mount point: bound onto
    // itself) cannot be removed.
    let stuck = w.start_and_wait(&["stuck"]);
    let target = std::ffi::CString::new(w.session_dir(&stuck).to_str().unwrap()).unwrap();
    // SAFETY: a bind mount of a folder of this test onto itself.
    let bound = unsafe {
        libc::mount(
            target.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        bound,
        0,
        "this test needs to bind-mount a folder (root): {}",
        std::io::Error::last_os_error()
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (code, out) = w.json_any(&["clean", "--older-than", "10ms", "--yes"]);
    assert_eq!(code, 1);
    let failed: CleanDoc = decode("clean --yes --json", &out);
    assert!(failed.sessions.is_empty());
    assert_eq!(failed.failed.len(), 1);
    assert_eq!(failed.failed[0].id, stuck);
    assert!(w.session_dir(&stuck).exists());
    // SAFETY: unmounting the bind mount made above.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
}

#[test]
fn doctor_document() {
    let w = World::new();
    let (code, out) = w.json_any(&["doctor"]);
    assert_eq!(code, 0);
    let clean: DoctorDoc = decode("doctor --json", &out);
    assert!(clean.healthy && !clean.fix && clean.problems.is_empty());

    // A session whose supervisor and agent both vanished: found, then settled.
    w.agent
        .turn(1, unfinished("codex_first_turn.jsonl"))
        .hang(1);
    let id = w.start(&["vanishes"]);
    w.agent.wait_hanging(1, std::time::Duration::from_secs(10));
    let meta = w.meta(&id);
    let sup = meta["turns"][0]["supervisor"]["pid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) takes plain integers; both pids are this test's
    // children, alive until now.
    unsafe {
        libc::kill(sup, libc::SIGKILL);
        libc::kill(w.agent.pid(1), libc::SIGKILL);
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (code, out) = w.json_any(&["doctor"]);
    assert_eq!(code, 1, "{out}");
    let found: DoctorDoc = decode("doctor --json", &out);
    assert!(!found.healthy);
    let stale = found
        .problems
        .iter()
        .find(|p| p.kind == "stale_running")
        .expect("the stale session is reported");
    assert_eq!(stale.session.as_deref(), Some(id.as_str()));
    assert!(!stale.fixed && stale.action.is_none());
    // Reporting changed nothing on disk.
    assert_eq!(w.meta(&id)["status"], "running");

    let (code, out) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 0, "{out}");
    let fixed: DoctorDoc = decode("doctor --fix --json", &out);
    assert!(fixed.healthy && fixed.fix);
    assert!(fixed.problems.iter().all(|p| p.fixed && p.action.is_some()));
    assert_ne!(w.meta(&id)["status"], "running");
}

#[test]
fn every_exit_code() {
    let w = World::new();
    let code = |args: &[&str]| w.json_any(args);
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_failed.jsonl"))
        .exit(2, 1)
        .turn(3, unfinished("codex_first_turn.jsonl"))
        .hang(3);
    let ok = w.start_and_wait(&["ok"]);
    let failed = w.start_and_wait(&["fails"]);
    let running = w.start(&["hangs"]);

    assert_eq!(code(&["show", &ok]).0, 0);
    let bin = w
        .cmd(&["--json", "start", "x"])
        .env("ZWARM_CODEX_BIN", "/nonexistent/codex")
        .output()
        .unwrap();
    assert_eq!(bin.status.code(), Some(1), "the session it started failed");
    for usage in [
        &["show", "not-hex!"][..],
        &["show", ""],
        &["start", ""],
        &["list", "--no-such-flag"],
        &["wait", "--timeout", "soon", &ok],
    ] {
        let (c, out) = code(usage);
        assert_eq!(c, 2, "{usage:?}");
        assert!(out.is_empty(), "no document on a usage error: {out}");
    }
    let (c, out) = code(&["show", "deadbeef"]);
    assert_eq!((c, out.as_str()), (3, ""), "no such session, no document");
    assert_eq!(code(&["wait", &failed]).0, 4);
    assert_eq!(code(&["watch", &failed]).0, 4);
    let (c, out) = code(&["inject", &running, "more"]);
    assert_eq!((c, out.as_str()), (5, ""), "a turn is running");
    assert_eq!(code(&["rm", &running]).0, 5);
    let (c, out) = code(&["wait", "--timeout", "100ms", &running]);
    assert_eq!(c, 124);
    assert!(decode::<WaitDoc>("wait --timeout", &out).timed_out);
}

/// `version`: what `remote add` checks a host by.
#[test]
fn version_prints_the_version_and_the_schema() {
    let w = World::new();
    let doc: VersionDoc = decode("version", &w.ok(&["--json", "version"]));
    assert_eq!(doc.schema_version, SCHEMA_VERSION);
    assert_eq!(doc.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        w.ok(&["version"]),
        format!(
            "zwarm {} (JSON schema_version {SCHEMA_VERSION})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}
