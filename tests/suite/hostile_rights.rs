//! A `meta.json` edited to widen the next turn's rights (sandbox, working
//! directory, agent, model, resumed conversation) never takes effect: the
//! rights a session was started with are recorded outside the store.

use crate::support::agents;
use crate::support::output::{error_of, expect, stdout};
use crate::support::world::World;
use serde_json::{json, Value};

/// Keys of `meta.json` that decide the next turn's rights, each edited as
/// an agent in the workspace could: `inject` refuses, naming the key (exit
/// 1), the agent is not started, `meta.json` is left as it was; with the
/// original value back, `inject` runs with the recorded sandbox. A session
/// without a record (started before records were kept) injects with valid
/// values and is refused an invalid sandbox.
#[test]
fn tampered_rights_never_take_effect() {
    let w = World::new();
    let elsewhere = agents::work_dir();
    let id = w.completed(&["-s", "read-only"]);
    let argv = w.agent.argv(1);
    assert!(
        argv.contains(&"--sandbox=read-only".to_string()),
        "{argv:?}"
    );
    let original = w.meta_bytes(&id);
    let elsewhere_dir = std::fs::canonicalize(elsewhere.path()).unwrap();
    let tampered: [(&str, Value); 6] = [
        ("sandbox", json!("danger-full-access")),
        ("sandbox", json!("workspace-write")),
        ("sandbox", Value::Null),
        ("working_dir", json!(elsewhere_dir.to_str().unwrap())),
        ("adapter", json!("claude_code")),
        ("agent_session_id", json!("-c=model=\"x\"")),
    ];
    let calls = w.agent.calls();
    for (key, value) in &tampered {
        w.edit_meta(&id, |m| m[*key] = value.clone());
        let edited = w.meta_bytes(&id);
        let out = w.run(&["inject", &id, "next"]);
        expect(&out, 1);
        assert!(stdout(&out).is_empty());
        let err = error_of(&out);
        assert!(
            err.contains(&format!("`{key}`")) && err.contains(&id),
            "{key}: the error does not name the key: {err}"
        );
        assert_eq!(w.agent.calls(), calls, "{key} = {value}: the agent ran");
        assert_eq!(w.meta_bytes(&id), edited, "{key}: meta.json was written");
        w.put_meta(&id, &original);
    }
    // Restored: the next turn runs, with the sandbox it was started with.
    let out = w.run(&["inject", &id, "next"]);
    expect(&out, 0);
    assert_eq!(w.wait(&id), 0);
    let k = w.agent.calls();
    assert_eq!(k, calls + 1);
    let argv = w.agent.argv(k);
    assert!(
        argv.contains(&"--sandbox=read-only".to_string()),
        "{argv:?}"
    );
    let work = std::fs::canonicalize(w.work.path()).unwrap();
    assert_eq!(w.agent.cwd(k), work);
    assert!(
        argv.contains(&format!("--cd={}", work.display())),
        "{argv:?}"
    );

    // A session from before records were kept (in a store that has never
    // had any: its own state home, record and store mark removed).
    let w = World::with_own_state_home();
    let legacy = w.completed(&["-s", "workspace-write"]);
    let record = w.rights_dir().join(format!("sessions/{legacy}.json"));
    std::fs::remove_file(&record).unwrap();
    std::fs::remove_dir_all(w.rights_dir().join("stores")).unwrap();
    expect(&w.run(&["inject", &legacy, "next"]), 0);
    assert_eq!(w.wait(&legacy), 0);
    let k = w.agent.calls();
    assert!(w
        .agent
        .argv(k)
        .contains(&"--sandbox=workspace-write".to_string()));
    w.edit_meta(&legacy, |m| m["sandbox"] = json!("yolo"));
    let edited = w.meta_bytes(&legacy);
    let out = w.run(&["inject", &legacy, "next"]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(err.contains("`sandbox`") && err.contains("yolo"), "{err}");
    assert_eq!(w.agent.calls(), k, "the agent ran with sandbox yolo");
    assert_eq!(w.meta_bytes(&legacy), edited);
    assert!(
        !record.exists(),
        "a record was made up for a legacy session"
    );

    // A session copied or forged into a store that keeps records: no
    // record, and a folder younger than the store's first record.
    let w = World::with_own_state_home();
    let real = w.completed(&["-s", "read-only"]);
    let forged = uuid::Uuid::new_v4().to_string();
    let dir = w.session_dir(&forged);
    std::fs::create_dir_all(dir.join("turns")).unwrap();
    let mut meta = w.meta(&real);
    meta["id"] = json!(forged);
    meta["sandbox"] = json!("danger-full-access");
    std::fs::write(dir.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    let calls = w.agent.calls();
    let out = w.run(&["inject", &forged, "next"]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(
        err.contains("no record of the rights it was started with"),
        "{err}"
    );
    assert_eq!(w.agent.calls(), calls, "the forged session ran");
    eprintln!(
        "rights: {} tampered values refused before the agent ran; restored and legacy sessions injected",
        tampered.len()
    );
}
