//! The verbs that keep or clear a store, run on a remote as here: `retry`,
//! `rm`, `clean`, `doctor` and `version` with `--host` (or `NAME:ID`),
//! their documents with `host`, their exit codes, and what runs here only.

use crate::support::contract::{decode, ActionDoc, CleanDoc, DoctorDoc, VersionDoc};
use crate::support::fake::transcript;
use crate::support::output::{has, ANY, EMPTY};
use crate::support::sshd::SshHost;
use crate::support::world::short;

/// A host `r1` whose agent completes every turn.
fn r1() -> SshHost {
    let h = SshHost::start();
    h.add("r1");
    h.far
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    h
}

#[test]
fn retry_and_version_run_on_the_remote() {
    let h = r1();
    let id = h.far.completed(&[]);
    let on_r1 = format!("r1:{id}");
    let again = h.run(&["retry", &on_r1]).expect(0, ANY, EMPTY).stdout();
    assert!(again.contains(short(&id)), "{again}");
    h.run(&["wait", &on_r1]).expect(0, has("completed"), EMPTY);
    let turns = h.far.meta(&id)["turns"].as_array().unwrap().len();
    assert_eq!(turns, 2, "the retry is the session's second turn there");
    assert_eq!(h.far.agent.calls(), 2);

    let doc: VersionDoc = decode(
        "version --host",
        &h.run(&["--json", "version", "--host", "r1"])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert_eq!(doc.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(doc.host.as_ref().expect("a host").name, "r1");
    h.run(&["version", "--host", "r1"])
        .expect(0, has("JSON schema_version 1"), EMPTY);
    // What only this machine can do is refused, not sent.
    h.run(&["remote", "ls", "--host", "r1"])
        .expect(2, EMPTY, has("run here only"));
    h.run(&["retry", "--host", "r1", "abcd1234"]).expect(
        3,
        EMPTY,
        has("no session matches 'abcd1234'"),
    );
}

#[test]
fn rm_on_the_remote_refuses_a_running_session_unless_forced() {
    let h = r1();
    let done = h.far.completed(&[]);
    let running = h.far.start_hanging(&[]);
    let refused = h
        .run(&["rm", &format!("r1:{running}")])
        .expect(5, EMPTY, has("has turn 1 running"))
        .stderr();
    // Its hint is for that host, not for this one.
    let short_id = short(&running);
    assert!(
        refused.contains(&format!("`zwarm --host r1 wait {short_id}`")),
        "{refused}"
    );
    assert!(h.far.session_dir(&running).is_dir());
    let doc: ActionDoc = decode(
        "rm --host",
        &h.run(&["--json", "rm", "--host", "r1", "--force", &running, &done])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert_eq!(doc.host.as_ref().expect("a host").name, "r1");
    assert!(doc.results.iter().all(|r| r.ok), "{doc:?}");
    assert!(!h.far.session_dir(&running).exists());
    assert!(!h.far.session_dir(&done).exists());
    h.run(&["show", &format!("r1:{done}")])
        .expect(3, EMPTY, has("no session matches"));
}

#[test]
fn clean_on_the_remote_shows_first_and_removes_with_yes() {
    let h = r1();
    let id = h.far.completed(&[]);
    let dry = h
        .run(&["clean", "--host", "r1", "--older-than", "0s"])
        .expect(0, ANY, has("dry run: add --yes"))
        .stdout();
    assert!(
        dry.starts_with(&format!("would remove {}", short(&id))),
        "{dry}"
    );
    assert!(h.far.session_dir(&id).is_dir());
    let doc: CleanDoc = decode(
        "clean --host",
        &h.run(&[
            "--json",
            "clean",
            "--host",
            "r1",
            "--older-than",
            "0s",
            "--yes",
        ])
        .expect(0, ANY, EMPTY)
        .stdout(),
    );
    assert!(!doc.dry_run);
    assert_eq!(doc.sessions.len(), 1);
    assert_eq!(doc.sessions[0].id, id);
    assert_eq!(doc.host.as_ref().expect("a host").name, "r1");
    assert!(!h.far.session_dir(&id).exists());
}

#[test]
fn doctor_on_the_remote_reports_and_fixes_its_store() {
    let h = r1();
    let id = h.far.start_hanging(&[]);
    h.far.crash(&id);
    let report = h.run(&["--json", "doctor", "--host", "r1"]);
    let doc: DoctorDoc = decode("doctor --host", &report.expect(1, ANY, EMPTY).stdout());
    assert!(!doc.healthy && !doc.fix, "{doc:?}");
    assert_eq!(doc.host.as_ref().expect("a host").name, "r1");
    assert!(
        doc.problems
            .iter()
            .any(|p| p.session.as_deref() == Some(id.as_str())),
        "{doc:?}"
    );
    assert_eq!(
        h.far.meta(&id)["status"],
        "running",
        "a report changes nothing"
    );
    h.run(&["doctor", "--host", "r1", "--fix"])
        .expect(0, has("stale_running"), has("fixed"));
    h.run(&["doctor", "--host", "r1"])
        .expect(0, EMPTY, has("no problems found"));
    assert_ne!(h.far.meta(&id)["status"], "running");
}
