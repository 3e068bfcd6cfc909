use super::record::{check, validate, ADAPTERS};
use super::*;
use crate::error::rights::Key;
use crate::model::Session;
use crate::timefmt::Timestamp;
use nix::sys::stat::Mode;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

const ID: &str = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc";

fn record(id: &str) -> Record {
    written(Record::new(
        id,
        Path::new("/p/.zwarm"),
        "codex",
        Some("read-only"),
        "/p",
    ))
}

/// At a time the file holds exactly (it keeps microseconds).
fn written(r: Record) -> Record {
    Record {
        written_at: Timestamp::parse("2026-01-02T03:04:05.678901").unwrap(),
        ..r
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A folder with a file that must survive every test untouched.
fn precious(dir: &Path) -> PathBuf {
    let p = dir.join("precious");
    fs::create_dir_all(&p).unwrap();
    fs::write(p.join("keep"), "keep me").unwrap();
    p
}

fn untouched(p: &Path) {
    let names: Vec<_> = fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keep"]);
    assert_eq!(fs::read_to_string(p.join("keep")).unwrap(), "keep me");
}

#[test]
fn a_record_reads_back_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let rights = RightsDir::at(tmp.path().join("state"));
    assert_eq!(rights.load(ID).unwrap(), None);
    let r = record(ID);
    rights.save(&r).unwrap();
    assert_eq!(rights.load(ID).unwrap(), Some(r.clone()));
    let text = fs::read_to_string(rights.path(ID)).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["sandbox"], "read-only");
    assert_eq!(json["store"], "/p/.zwarm");
    // Saved again, over the first.
    let wider = written(Record::new(ID, &r.store, "claude_code", None, "/q"));
    rights.save(&wider).unwrap();
    let back = rights.load(ID).unwrap().unwrap();
    assert_eq!(back, wider);
    let json: Value = serde_json::from_slice(&fs::read(rights.path(ID)).unwrap()).unwrap();
    assert_eq!(json["sandbox"], Value::Null);
}

#[test]
fn the_folders_and_the_record_are_private_and_no_temporary_file_is_left() {
    let tmp = tempfile::tempdir().unwrap();
    let rights = RightsDir::at(tmp.path().join("a/b/state"));
    rights.save(&record(ID)).unwrap();
    assert_eq!(mode(&tmp.path().join("a/b/state/zwarm")), 0o700);
    assert_eq!(mode(&rights.dir()), 0o700);
    assert_eq!(mode(&rights.path(ID)), 0o600);
    let names: Vec<_> = fs::read_dir(rights.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [format!("{ID}.json")]);
}

#[test]
fn keys_of_later_versions_survive_and_missing_optional_keys_read() {
    let tmp = tempfile::tempdir().unwrap();
    let rights = RightsDir::at(tmp.path());
    rights.save(&record(ID)).unwrap();
    let text = format!(
        r#"{{"id":"{ID}","store":"/p/.zwarm","adapter":"codex","working_dir":"/p",
        "written_at":"2026-01-01T00:00:00","agent_args":["-x"],"limits":{{"turns":3}}}}"#
    );
    fs::write(rights.path(ID), text).unwrap();
    let mut r = rights.load(ID).unwrap().unwrap();
    assert_eq!(r.sandbox, None);
    r.working_dir = "/q".into();
    rights.save(&r).unwrap();
    let json: Value = serde_json::from_slice(&fs::read(rights.path(ID)).unwrap()).unwrap();
    assert_eq!(json["agent_args"][0], "-x");
    assert_eq!(json["limits"]["turns"], 3);
    assert_eq!(json["working_dir"], "/q");
}

#[test]
fn a_link_at_either_folder_is_refused_and_not_followed() {
    for planted in ["zwarm", "zwarm/sessions"] {
        let tmp = tempfile::tempdir().unwrap();
        let target = precious(tmp.path());
        let base = tmp.path().join("state");
        fs::create_dir_all(base.join("zwarm")).unwrap();
        if planted == "zwarm" {
            fs::remove_dir(base.join("zwarm")).unwrap();
        }
        let link = base.join(planted);
        symlink(&target, &link).unwrap();
        let rights = RightsDir::at(&base);
        for result in [
            rights.save(&record(ID)).map(|_| ()),
            rights.load(ID).map(|_| ()),
            rights.remove(ID).map(|_| ()),
            rights.ids().map(|_| ()),
        ] {
            match result {
                Err(RightsError::Link { path }) => assert_eq!(path, link),
                other => panic!("{planted}: {other:?}"),
            }
        }
        let message = rights.save(&record(ID)).unwrap_err().to_string();
        assert!(message.contains(&link.display().to_string()), "{message}");
        untouched(&target);
    }
}

#[test]
fn a_link_at_the_record_is_refused_and_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let rights = RightsDir::at(tmp.path().join("state"));
    rights.save(&record("ab")).unwrap();
    // A record that would pass, were the link followed.
    let elsewhere = tmp.path().join("forged.json");
    let forged = Record::new(ID, Path::new("/p/.zwarm"), "codex", None, "/p");
    fs::write(&elsewhere, serde_json::to_vec(&forged).unwrap()).unwrap();
    symlink(&elsewhere, rights.path(ID)).unwrap();
    let before = fs::read(&elsewhere).unwrap();
    assert!(matches!(rights.load(ID), Err(RightsError::Link { path }) if path == rights.path(ID)));
    assert!(
        matches!(rights.save(&record(ID)), Err(RightsError::Link { path }) if path == rights.path(ID))
    );
    assert_eq!(fs::read(&elsewhere).unwrap(), before);
    assert!(fs::symlink_metadata(rights.path(ID))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(rights.ids().unwrap(), [ID, "ab"]);
}

#[test]
fn a_link_planted_at_the_temporary_name_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let target = precious(tmp.path());
    let rights = RightsDir::at(tmp.path().join("state"));
    rights.save(&record("ab")).unwrap();
    let planted = rights
        .dir()
        .join(format!(".{ID}.json.{}.tmp", std::process::id()));
    symlink(target.join("keep"), &planted).unwrap();
    let r = record(ID);
    rights.save(&r).unwrap();
    untouched(&target);
    assert!(fs::symlink_metadata(&planted).is_err());
    assert!(fs::symlink_metadata(rights.path(ID))
        .unwrap()
        .file_type()
        .is_file());
    assert_eq!(rights.load(ID).unwrap(), Some(r));
}

#[test]
fn a_folder_others_may_write_in_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let rights = RightsDir::at(tmp.path());
    rights.save(&record(ID)).unwrap();
    fs::set_permissions(rights.dir(), fs::Permissions::from_mode(0o777)).unwrap();
    assert!(matches!(
        rights.load(ID),
        Err(RightsError::Untrusted { path, .. }) if path == rights.dir()
    ));
    assert!(matches!(
        rights.save(&record(ID)),
        Err(RightsError::Untrusted { .. })
    ));
}

#[test]
fn what_is_not_a_record_of_the_session_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let rights = RightsDir::at(tmp.path());
    rights.save(&record(ID)).unwrap();
    let path = rights.path(ID);

    let big = format!(
        "{{\"id\":\"{ID}\",\"pad\":\"{}\"}}",
        "x".repeat(MAX_RECORD_BYTES as usize)
    );
    fs::write(&path, big).unwrap();
    match rights.load(ID) {
        Err(RightsError::Corrupt { reason, .. }) => assert!(reason.contains("larger"), "{reason}"),
        other => panic!("{other:?}"),
    }

    // Another session's record, copied to this one's name.
    fs::write(&path, serde_json::to_vec(&record("ab")).unwrap()).unwrap();
    assert!(matches!(rights.load(ID), Err(RightsError::Corrupt { .. })));

    fs::write(&path, "{\"id\": ").unwrap();
    assert!(matches!(rights.load(ID), Err(RightsError::Corrupt { .. })));

    fs::remove_file(&path).unwrap();
    nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).unwrap();
    assert!(matches!(
        rights.load(ID),
        Err(RightsError::Untrusted { .. })
    ));

    for bad in ["../x", "a/b", "", "ab.json"] {
        assert!(
            matches!(rights.load(bad), Err(RightsError::InvalidId(_))),
            "{bad:?}"
        );
        let mut r = record(ID);
        r.id = bad.into();
        assert!(matches!(rights.save(&r), Err(RightsError::InvalidId(_))));
    }
}

#[test]
fn ids_lists_records_and_remove_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let rights = RightsDir::at(tmp.path());
    assert!(rights.ids().unwrap().is_empty());
    assert!(!rights.remove(ID).unwrap());
    for id in ["cd", "ab", ID] {
        rights.save(&record(id)).unwrap();
    }
    fs::write(rights.dir().join("notes.txt"), "").unwrap();
    fs::write(rights.dir().join(".ab.json.1.tmp"), "").unwrap();
    fs::create_dir(rights.dir().join("ef.json")).unwrap();
    assert_eq!(rights.ids().unwrap(), [ID, "ab", "cd"]);
    assert!(rights.remove("cd").unwrap());
    assert!(!rights.remove("cd").unwrap());
    assert_eq!(rights.load("cd").unwrap(), None);
    assert_eq!(rights.ids().unwrap(), [ID, "ab"]);
}

#[test]
fn nothing_is_created_until_a_record_is_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("state");
    let rights = RightsDir::at(&base);
    assert_eq!(rights.load(ID).unwrap(), None);
    assert!(rights.ids().unwrap().is_empty());
    assert!(!rights.remove(ID).unwrap());
    assert!(!base.exists());
    fs::create_dir_all(base.join("zwarm")).unwrap();
    assert_eq!(rights.load(ID).unwrap(), None);
    assert!(!base.join("zwarm/sessions").exists());
}

#[test]
fn the_state_home_follows_the_xdg_spec() {
    fn s(v: &str) -> Option<&OsStr> {
        Some(OsStr::new(v))
    }
    assert_eq!(
        state_home(s("/x/state"), s("/h")),
        Some(PathBuf::from("/x/state"))
    );
    let fallback = Some(PathBuf::from("/h/.local/state"));
    assert_eq!(state_home(None, s("/h")), fallback);
    assert_eq!(state_home(s(""), s("/h")), fallback);
    assert_eq!(state_home(s("relative/state"), s("/h")), fallback);
    assert_eq!(state_home(s("./state"), s("/h")), fallback);
    assert_eq!(state_home(None, None), None);
    assert_eq!(state_home(s(""), s("")), None);
    assert_eq!(state_home(None, s("h")), None);
    let rights = RightsDir::at("/x/state");
    assert_eq!(
        rights.path(ID),
        PathBuf::from(format!("/x/state/zwarm/sessions/{ID}.json"))
    );
}

#[test]
fn a_mismatch_names_the_first_key_that_differs() {
    let r = record(ID);
    let store = Path::new("/p/.zwarm");
    assert_eq!(check(&r, store, "codex", Some("read-only"), "/p"), Ok(()));
    let key = |s: &Path, a, sb, w| check(&r, s, a, sb, w).unwrap_err();

    let m = key(store, "codex", Some("danger-full-access"), "/p");
    assert_eq!(m.key, Key::Sandbox);
    assert_eq!(m.stored.as_deref(), Some("danger-full-access"));
    assert_eq!(m.recorded.as_deref(), Some("read-only"));
    assert_eq!(
        m.to_string(),
        "meta.json's `sandbox` is \"danger-full-access\" but the session was started \
         with \"read-only\"; refusing to widen the agent's rights"
    );
    assert_eq!(key(store, "codex", None, "/p").key, Key::Sandbox);
    assert_eq!(
        key(store, "claude_code", Some("read-only"), "/p").key,
        Key::Adapter
    );
    assert_eq!(
        key(store, "codex", Some("read-only"), "/").key,
        Key::WorkingDir
    );
    assert_eq!(
        key(store, "codex", Some("read-only"), "/p/").key,
        Key::WorkingDir
    );
    let m = key(Path::new("/q/.zwarm"), "codex", Some("read-only"), "/p");
    assert_eq!(m.key, Key::Store);
    assert!(m.to_string().contains("\"/p/.zwarm\""), "{m}");
    // Several differ: the first is named.
    assert_eq!(key(store, "claude", None, "/").key, Key::Adapter);

    let claude = Record::new(ID, store, "claude_code", None, "/p");
    assert_eq!(check(&claude, store, "claude", None, "/p"), Ok(()));
    let m = check(&claude, store, "claude", Some("workspace-write"), "/p").unwrap_err();
    assert!(
        m.to_string().contains("with none (the agent's default)"),
        "{m}"
    );
}

#[test]
fn absent_null_and_empty_sandboxes_are_one() {
    let store = Path::new("/s");
    let base = r#""id":"ab","store":"/s","adapter":"codex","working_dir":"/w","written_at":"2026-01-01T00:00:00""#;
    for sandbox in ["", r#","sandbox":null"#, r#","sandbox":"""#] {
        let r: Record = serde_json::from_str(&format!("{{{base}{sandbox}}}")).unwrap();
        for meta in [None, Some("")] {
            assert_eq!(
                check(&r, store, "codex", meta, "/w"),
                Ok(()),
                "{sandbox} {meta:?}"
            );
        }
        let m = check(&r, store, "codex", Some("read-only"), "/w").unwrap_err();
        assert_eq!((m.key, m.recorded), (Key::Sandbox, None));
    }
    assert_eq!(
        Record::new("ab", store, "codex", Some(""), "/w").sandbox,
        None
    );
}

#[test]
fn check_session_reads_the_session_keys() {
    let session: Session = serde_json::from_str(
        r#"{"id":"ab","task":"t","status":"completed","working_dir":"/w",
        "created_at":"2026-01-01T00:00:00","updated_at":"2026-01-01T00:00:00",
        "adapter":"codex","sandbox":"read-only"}"#,
    )
    .unwrap();
    let store = Path::new("/s/.zwarm");
    let r = Record::of(&session, store);
    assert_eq!(check_session(&r, store, &session), Ok(()));
    let mut tampered = session.clone();
    tampered.sandbox = Some("danger-full-access".into());
    assert_eq!(
        check_session(&r, store, &tampered).unwrap_err().key,
        Key::Sandbox
    );
    assert_eq!(validate_session(&tampered), Ok(()));
}

#[test]
fn validate_says_what_is_wrong() {
    for adapter in ADAPTERS {
        for sandbox in [None, Some(""), Some("read-only"), Some("workspace-write")] {
            assert_eq!(validate(adapter, sandbox, "/w/x"), Ok(()));
        }
    }
    assert_eq!(validate("codex", Some("danger-full-access"), "/"), Ok(()));
    assert_eq!(validate("codex", None, "/a/./b//c/"), Ok(()));
    let wrong = |a, s, w| validate(a, s, w).unwrap_err();
    for bad in ["", "Codex", "claude-code", "sh"] {
        assert_eq!(wrong(bad, None, "/w").key, Key::Adapter, "{bad:?}");
    }
    for bad in ["full", "READ-ONLY", " read-only", "danger-full-access\n"] {
        assert_eq!(wrong("codex", Some(bad), "/w").key, Key::Sandbox, "{bad:?}");
    }
    for bad in ["", "w", "./w", "/w/../etc", "/..", "/w/\0x", "~/w"] {
        assert_eq!(wrong("codex", None, bad).key, Key::WorkingDir, "{bad:?}");
    }
    assert_eq!(validate("codex", None, "/w/..x/a..b"), Ok(()));
    let e = wrong("codex", Some("everything"), "/w");
    assert_eq!(e.value, "everything");
    assert_eq!(
        e.to_string(),
        "meta.json's `sandbox` is \"everything\": a sandbox is read-only, \
         workspace-write or danger-full-access"
    );
    assert!(wrong("codex", None, "/w/../x").to_string().contains("`..`"));
}

#[test]
fn agent_args_are_recorded_and_checked_like_the_rights() {
    let mut session: Session = serde_json::from_str(
        r#"{"id":"ab","task":"t","status":"completed","working_dir":"/w",
        "created_at":"2026-01-01T00:00:00","updated_at":"2026-01-01T00:00:00",
        "adapter":"qwen","agent_args":["--max-session-turns=3"]}"#,
    )
    .unwrap();
    let store = Path::new("/s/.zwarm");
    let r = Record::of(&session, store);
    assert_eq!(r.agent_args, ["--max-session-turns=3"]);
    assert_eq!(check_session(&r, store, &session), Ok(()));
    session.agent_args.push("--yolo".into());
    let m = check_session(&r, store, &session).unwrap_err();
    assert_eq!(m.key, Key::AgentArgs);
    let why = m.to_string();
    assert!(
        why.starts_with("meta.json's `agent_args` is") && why.contains("--yolo"),
        "{why}"
    );
    // Without a record (a session from before records), none is trusted.
    assert_eq!(validate_session(&session).unwrap_err().key, Key::AgentArgs);
    session.agent_args.clear();
    assert_eq!(validate_session(&session), Ok(()));
    // A record written before agent args existed reads as having none.
    let old: Record = serde_json::from_str(
        r#"{"id":"ab","store":"/s/.zwarm","adapter":"qwen","sandbox":null,"working_dir":"/w","written_at":"2026-01-01T00:00:00"}"#,
    )
    .unwrap();
    assert!(old.agent_args.is_empty());
    assert_eq!(check_session(&old, store, &session), Ok(()));
}
