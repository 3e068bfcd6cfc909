//! Remotes over a real OpenSSH server on a loopback port: adding, listing
//! and removing them, the verbs run on one, every host listed at once, and
//! what is said when a host cannot be reached or cannot be driven.

use crate::support::contract::{
    decode, ActionDoc, AllHostsDoc, ApplyDoc, RemotesDoc, SessionDoc, ShowDoc, TrajectoryDoc,
    WaitDoc,
};
use crate::support::fake::transcript;
use crate::support::output::{has, ANY, EMPTY};
use crate::support::sshd::SshHost;
use crate::support::world::STARTED;
use std::time::{Duration, Instant};

#[test]
fn remotes_are_added_listed_and_removed_and_a_host_that_cannot_be_driven_is_refused() {
    let h = SshHost::start();
    h.run(&["remote", "ls"]).expect(0, has("no remotes"), EMPTY);
    h.add("r1");
    let ls = h.run(&["remote", "ls"]).expect(0, ANY, EMPTY).stdout();
    assert!(ls.starts_with("NAME"), "{ls}");
    assert!(ls.contains("r1    127.0.0.1"), "{ls}");
    let doc: RemotesDoc = decode("remote ls", &h.run(&["--json", "remote", "ls"]).stdout());
    assert_eq!(doc.remotes.len(), 1);
    assert_eq!(doc.remotes[0].name, "r1");
    assert_eq!(
        doc.remotes[0].remote_dir.as_deref(),
        Some(h.store().as_str())
    );

    let zwarm = h.zwarm();
    h.run(&["remote", "add", "r1", "127.0.0.1", "--zwarm", &zwarm])
        .expect(2, EMPTY, has("a remote named 'r1' exists already"));
    // sshd listens on 127.0.0.1 alone, and lets in only this user.
    h.run(&["remote", "add", "down", "127.0.0.2", "--zwarm", &zwarm])
        .expect(
            1,
            EMPTY,
            has("host down is unreachable: ssh: connect to host 127.0.0.2"),
        );
    h.run(&[
        "remote",
        "add",
        "who",
        "nobody@127.0.0.1",
        "--zwarm",
        &zwarm,
    ])
    .expect(1, EMPTY, has("host who refused the SSH authentication"));
    h.run(&[
        "remote",
        "add",
        "nozwarm",
        "127.0.0.1",
        "--zwarm",
        "/nonexistent/zwarm",
    ])
    .expect(1, EMPTY, has("zwarm is missing on host nozwarm"));
    // A zwarm whose documents are of another schema.
    let old = h.path().join("old-zwarm");
    std::fs::write(
        &old,
        "#!/bin/sh\necho '{\"schema_version\": 0, \"version\": \"0.0.9\"}'\n",
    )
    .unwrap();
    crate::support::files::set_executable(&old);
    let e = h
        .run(&[
            "remote",
            "add",
            "old",
            "127.0.0.1",
            "--zwarm",
            old.to_str().unwrap(),
        ])
        .expect(1, EMPTY, ANY)
        .stderr();
    assert!(
        e.contains("host old runs zwarm 0.0.9 (JSON schema 0)")
            && e.contains(&format!(
                "this zwarm {} (JSON schema 1)",
                env!("CARGO_PKG_VERSION")
            )),
        "{e}"
    );
    h.run(&["remote", "add", "bad name", "127.0.0.1"]).expect(
        2,
        EMPTY,
        has("cannot name a remote"),
    );
    h.run(&["remote", "add", "x", "-oProxyCommand=true"])
        .expect(2, EMPTY, ANY);
    let names: Vec<String> =
        decode::<RemotesDoc>("remote ls", &h.run(&["--json", "remote", "ls"]).stdout())
            .remotes
            .into_iter()
            .map(|r| r.name)
            .collect();
    assert_eq!(names, ["r1"], "refused remotes are not kept");

    h.run(&["remote", "rm", "r1"])
        .expect(0, EMPTY, has("removed remote r1"));
    h.run(&["remote", "rm", "r1"])
        .expect(1, EMPTY, has("no remote named 'r1'"));
    h.run(&["remote", "ls"]).expect(0, has("no remotes"), EMPTY);
}

#[test]
fn sessions_start_wait_show_list_and_die_on_the_remote_as_here() {
    let h = SshHost::start();
    h.add("r1");
    h.far
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let doc: SessionDoc = decode(
        "start --host",
        &h.run(&["--json", "start", "--host", "r1", "say hello"])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert_eq!(doc.host.as_ref().map(|x| x.name.as_str()), Some("r1"));
    assert_eq!(
        doc.working_dir,
        h.far
            .work
            .path()
            .canonicalize()
            .unwrap()
            .display()
            .to_string()
    );
    let id = doc.id.clone();
    // The session lives in the remote's store, not here.
    assert_eq!(h.far.session_ids(), std::slice::from_ref(&id));
    assert!(h.near.session_ids().is_empty());

    let short = &id[..8];
    let on_r1 = format!("r1:{short}");
    let waited: WaitDoc = decode(
        "wait r1:ID",
        &h.run(&["--json", "wait", &on_r1])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert_eq!(waited.sessions[0].id, id);
    assert_eq!(waited.sessions[0].host.as_ref().unwrap().name, "r1");
    // A second turn there, and its steps.
    h.run(&["inject", &on_r1, "and again"])
        .expect(0, ANY, EMPTY);
    h.run(&["wait", &on_r1]).expect(0, ANY, EMPTY);
    let traj: TrajectoryDoc = decode(
        "trajectory r1:ID",
        &h.run(&["--json", "trajectory", "--turn", "2", &on_r1])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert_eq!(traj.host.map(|x| x.name).as_deref(), Some("r1"));
    assert!(!traj.steps.is_empty());
    assert_eq!(h.far.meta(&id)["turn"], 2);
    let shown: ShowDoc = decode("show r1:ID", &h.run(&["--json", "show", &on_r1]).stdout());
    assert_eq!(shown.status, crate::support::contract::Status::Completed);
    // The human table is the remote's own: exactly what its zwarm prints
    // (read there just before and just after, as ages may tick between).
    let same_as_there = |args: &[&str], there: &[&str]| {
        let before = h.far.ok(there);
        let here = h.run(args).expect(0, ANY, EMPTY).stdout();
        let after = h.far.ok(there);
        assert!(here == before || here == after, "{here}\n---\n{after}");
        here
    };
    let here = same_as_there(&["list", "--host", "r1"], &["list"]);
    assert!(here.contains(short), "{here}");
    same_as_there(&["show", &on_r1], &["show", short]);

    // The same exit statuses: no such session is 3, here as there.
    h.run(&["show", "r1:ffff"])
        .expect(3, EMPTY, has("no session matches 'ffff'"));

    let hanging = h.far.agent.calls() + 1;
    h.far
        .agent
        .turn(hanging, transcript("codex_sigterm.jsonl"))
        .hang(hanging);
    let id2 = h
        .run(&["start", "--host", "r1", "hang there"])
        .expect(0, ANY, EMPTY)
        .stdout();
    let id2 = id2.trim().to_string();
    h.far.agent.wait_hanging(hanging, STARTED);
    let killed: ActionDoc = decode(
        "kill r1:ID",
        &h.run(&["--json", "kill", &format!("r1:{id2}")])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert!(killed.results[0].ok);
    assert_eq!(h.far.meta(&id2)["status"], "killed");
    h.run(&["wait", &format!("r1:{id2}")]).expect(4, ANY, ANY);
    // One command runs on one host; `wait` alone takes ids of several,
    // a plain id being this store's (where r1's session is unknown).
    h.run(&["show", &on_r1, "--host", "r2"])
        .expect(2, EMPTY, has("one command runs on one host"));
    h.run(&["wait", &on_r1, &id2]).expect(
        3,
        has("completed"),
        has(&format!("no session matches '{id2}'")),
    );
    h.run(&["mcp", "--host", "r1"])
        .expect(2, EMPTY, has("run here only"));

    // What the far zwarm prints, here as there: the raw turn file, the
    // steps of a finished turn, and a diff's answer (none: no git there).
    let output = h.run(&["output", &on_r1]).expect(0, ANY, EMPTY).stdout();
    assert_eq!(output, transcript("codex_first_turn.jsonl"));
    let watched = h.run(&["watch", &on_r1]).expect(0, ANY, EMPTY).stdout();
    assert_eq!(watched, h.far.ok(&["watch", short]));
    let lines = h
        .run(&["--json", "watch", &on_r1])
        .expect(0, ANY, EMPTY)
        .stdout();
    let there = h.far.ok(&["--json", "watch", short]);
    assert_eq!(lines.lines().count(), there.lines().count());
    for (here, there) in lines.lines().zip(there.lines()) {
        let mut here: serde_json::Value = serde_json::from_str(here).unwrap();
        assert_eq!(here["host"]["name"], "r1");
        here.as_object_mut().unwrap().remove("host");
        assert_eq!(
            here,
            serde_json::from_str::<serde_json::Value>(there).unwrap()
        );
    }
    let diff_here = h.run(&["diff", &on_r1]);
    let diff_there = h.far.run(&["diff", short]);
    assert_eq!(diff_here.code(), diff_there.code());
    assert_eq!(diff_here.stderr(), diff_there.stderr());
}

#[test]
fn a_task_of_any_text_reaches_the_remote_byte_for_byte_through_dash() {
    let h = SshHost::start();
    h.add("r1");
    h.far
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let task = "it's \"quoted\" $(touch /tmp/zwarm-pwned) ; rm -rf x `id` $HOME \\ \n\
                second line\ttab * ? [a] ~ & | > < é 日本 🚀 -- --json";
    let doc: SessionDoc = decode(
        "start",
        &h.run(&["--json", "start", "--host", "r1", "--", task])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert_eq!(doc.task, task);
    assert_eq!(h.far.meta(&doc.id)["task"], task);
    h.far.agent.wait_started(1, STARTED);
    assert_eq!(
        h.far.agent.argv(1).last().map(String::as_str),
        Some("second line\ttab * ? [a] ~ & | > < é 日本 🚀 -- --json")
    );
    assert!(h.far.agent.argv(1).join("\n").contains(task));
    assert!(!std::path::Path::new("/tmp/zwarm-pwned").exists());
}

#[test]
fn every_host_is_listed_at_once_and_one_that_stops_answering_is_stale() {
    let mut h = SshHost::start();
    h.add("r1");
    h.far
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    h.near
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let local = h.near.start_and_wait(&["here"]);
    let remote = h
        .run(&["start", "--host", "r1", "there"])
        .expect(0, ANY, EMPTY)
        .stdout();
    let remote = remote.trim().to_string();
    h.run(&["wait", &format!("r1:{remote}")])
        .expect(0, ANY, EMPTY);

    let all: AllHostsDoc = decode(
        "list --all-hosts",
        &h.run(&["--json", "list", "--all-hosts"])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    let hosts: Vec<(&str, &str, bool)> = all
        .sessions
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.host.as_ref().unwrap().name.as_str(),
                s.host.as_ref().unwrap().stale,
            )
        })
        .collect();
    assert_eq!(
        hosts,
        [
            (local.as_str(), "local", false),
            (remote.as_str(), "r1", false)
        ]
    );
    let human = h
        .run(&["list", "--all-hosts"])
        .expect(0, ANY, EMPTY)
        .stdout();
    assert!(
        human.contains("── local") && human.contains("── r1"),
        "{human}"
    );
    assert!(
        human.contains(&local[..8]) && human.contains(&remote[..8]),
        "{human}"
    );

    // A second remote on which ssh hangs: it is given up at the bound.
    h.add_hanging("hang", 5);

    h.stop();
    let started = Instant::now();
    let ran = h.run(&["--json", "list", "--all-hosts", "--host-timeout", "1s"]);
    let took = started.elapsed();
    ran.expect(0, ANY, has("host r1 is unreachable"));
    assert!(
        took < Duration::from_secs(4),
        "a hanging host held the list for {took:?}"
    );
    let stale: AllHostsDoc = decode("list --all-hosts", &ran.stdout());
    let r1 = stale
        .sessions
        .iter()
        .find(|s| s.id == remote)
        .expect("r1's last known session");
    let host = r1.host.as_ref().unwrap();
    assert!(host.stale);
    assert!(host.last_seen.is_some());
    assert_eq!(
        r1.status,
        crate::support::contract::Status::Completed,
        "its status is kept, not guessed"
    );
    let states: Vec<(String, bool)> = stale
        .hosts
        .iter()
        .map(|x| (x.name.clone(), x.stale))
        .collect();
    assert_eq!(
        states,
        [("hang".to_string(), true), ("r1".to_string(), true)]
    );
    assert!(stale.hosts[0]
        .error
        .as_deref()
        .unwrap()
        .contains("did not answer within 1 s"));
    let human = h
        .run(&["list", "--all-hosts", "--host-timeout", "1s"])
        .expect(0, ANY, ANY)
        .stdout();
    assert!(
        human.contains("── r1 stale:") && human.contains(&remote[..8]),
        "{human}"
    );

    h.run(&["show", &format!("r1:{remote}")])
        .expect(1, EMPTY, has("host r1 is unreachable"));
}

/// A host `r1` whose agent hangs in its first turn, and the id of the
/// session it runs there.
fn hanging_on_r1() -> (SshHost, String) {
    let h = SshHost::start();
    h.add("r1");
    let id = hang_on_r1(&h);
    (h, id)
}

/// Starts on `r1` a session whose agent hangs in its first turn; its id.
fn hang_on_r1(h: &SshHost) -> String {
    h.far
        .agent
        .turn(1, transcript("codex_sigterm.jsonl"))
        .hang(1);
    let id = h
        .run(&["start", "--host", "r1", "hang there"])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_string();
    h.far.agent.wait_hanging(1, STARTED);
    id
}

/// zwarm `args` run here, its output piped, returned once the remote
/// `verb` it runs on `h` is there.
fn run_there(h: &SshHost, args: &[&str], verb: &str) -> std::process::Child {
    let child = h
        .cmd(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::support::poll::eventually(
        Duration::from_secs(10),
        &format!("the remote {verb}"),
        || runs_there(h, verb),
    );
    child
}

/// Whether a zwarm `verb` of the far store runs on `h`.
fn runs_there(h: &SshHost, verb: &str) -> bool {
    let store = format!("--dir={}", h.store());
    let verb = format!("\0{verb}\0");
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains(&store) && c.contains(&verb)
        })
    })
}

#[test]
fn a_wait_whose_connection_is_cut_says_so_and_the_remote_session_runs_on() {
    let (h, id) = hanging_on_r1();
    let on_r1 = format!("r1:{id}");
    // Once the wait runs there, the link goes down.
    let waiting = run_there(&h, &["wait", &on_r1], "wait");
    assert!(h.cut() > 0, "no connection to cut");
    let out = waiting.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the connection to host r1 was cut"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    // The wait there does not outlive the link it answered on.
    crate::support::poll::eventually(Duration::from_secs(10), "the remote wait to end", || {
        !runs_there(&h, "wait")
    });
    // The session there is untouched, and the same command picks it up.
    assert_eq!(h.far.meta(&id)["status"], "running");
    h.run(&["wait", "--timeout", "1s", &on_r1])
        .expect(124, has("running"), has("timed out"));
    h.run(&["kill", &on_r1]).expect(0, ANY, EMPTY);
    h.run(&["wait", &on_r1]).expect(4, ANY, ANY);
}

#[test]
fn doctor_reports_an_unreadable_remotes_toml_and_fixes_the_cache_of_gone_remotes() {
    let w = crate::support::world::World::new();
    let home = crate::support::agents::target_tempdir("remotes-home-");
    let (config, cache) = (home.path().join("config"), home.path().join("cache"));
    std::fs::create_dir_all(config.join("zwarm")).unwrap();
    std::fs::create_dir_all(cache.join("zwarm/remotes")).unwrap();
    std::fs::write(
        config.join("zwarm/remotes.toml"),
        "[remotes.b1]\ntarget = \"b1\"\n",
    )
    .unwrap();
    let seen = r#"{"last_seen":"2026-12-03T19:00:00Z","sessions":[]}"#;
    std::fs::write(cache.join("zwarm/remotes/b1.json"), seen).unwrap();
    std::fs::write(cache.join("zwarm/remotes/gone.json"), seen).unwrap();
    std::fs::write(cache.join("zwarm/remotes/b1.json.x"), "?").unwrap();
    let doctor = |args: &[&str]| {
        let mut cmd = w.cmd(args);
        cmd.env("XDG_CONFIG_HOME", &config)
            .env("XDG_CACHE_HOME", &cache);
        cmd.output().unwrap()
    };
    let kinds = |out: &std::process::Output| -> Vec<(String, bool)> {
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["kind"].as_str().unwrap().to_string(),
                    p["fixed"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let out = doctor(&["--json", "doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let stale = ("stale_remote_cache".to_string(), false);
    assert_eq!(kinds(&out), [stale.clone(), stale]);
    let fixed = doctor(&["--json", "doctor", "--fix"]);
    assert_eq!(fixed.status.code(), Some(0));
    assert!(
        cache.join("zwarm/remotes/b1.json").exists(),
        "the list of a remote is kept"
    );
    assert!(!cache.join("zwarm/remotes/gone.json").exists());
    assert!(!cache.join("zwarm/remotes/b1.json.x").exists());

    std::fs::write(config.join("zwarm/remotes.toml"), "[remotes.b1\n").unwrap();
    let out = doctor(&["--json", "doctor", "--fix"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(kinds(&out), [("unreadable_remotes".to_string(), false)]);
    assert!(
        config.join("zwarm/remotes.toml").exists(),
        "the user's file is left to the user"
    );
}

#[test]
fn a_wait_on_two_hosts_waits_on_both_at_once() {
    let h = SshHost::start();
    h.add("r1");
    let other = crate::support::agents::target_tempdir("zwarm-state-r2-");
    let zwarm = h.zwarm();
    let work = h.far.work.path().display().to_string();
    h.run(&[
        "remote",
        "add",
        "r2",
        "127.0.0.1",
        "--zwarm",
        &zwarm,
        "--remote-dir",
        other.path().to_str().unwrap(),
        "--workdir",
        &work,
    ])
    .expect(0, ANY, EMPTY);
    h.far.agent.turn(1, transcript("codex_first_turn.jsonl"));
    h.far
        .agent
        .turn(2, transcript("codex_sigterm.jsonl"))
        .hang(2);
    let start = |host: &str, task: &str| {
        h.run(&["start", "--host", host, task])
            .expect(0, ANY, EMPTY)
            .stdout()
            .trim()
            .to_string()
    };
    let done = start("r1", "quick");
    h.far.agent.wait_started(1, STARTED);
    let hanging = start("r2", "slow");
    h.far.agent.wait_hanging(2, STARTED);
    let (on_r1, on_r2) = (format!("r1:{done}"), format!("r2:{hanging}"));

    // r2's session runs on: the wait times out there, and says so.
    let doc: WaitDoc = decode(
        "wait on two hosts",
        &h.run(&["--json", "wait", "--timeout", "1s", &on_r2, &on_r1])
            .expect(124, ANY, ANY)
            .stdout(),
    );
    assert!(doc.timed_out);
    let got: Vec<(&str, &str)> = doc
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s.host.as_ref().unwrap().name.as_str()))
        .collect();
    assert_eq!(got, [(hanging.as_str(), "r2"), (done.as_str(), "r1")]);

    // Once it is killed there, the wait on both returns: 4, one did not complete.
    let waiting = h
        .cmd(&["wait", &on_r1, &on_r2])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    h.run(&["kill", &on_r2]).expect(0, ANY, EMPTY);
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&done[..8]) && text.contains(&hanging[..8]),
        "{text}"
    );
}

#[test]
fn a_wait_mixes_this_store_and_a_remote_and_any_ends_with_the_first_host() {
    let h = SshHost::start();
    h.add("r1");
    h.far
        .agent
        .turn(1, transcript("codex_sigterm.jsonl"))
        .hang(1);
    h.near
        .agent
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let hanging = h
        .run(&["start", "--host", "r1", "slow there"])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_string();
    h.far.agent.wait_hanging(1, STARTED);
    let here = h
        .run(&["start", "quick here"])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_string();
    let on_r1 = format!("r1:{hanging}");

    // The session here ends first and decides; r1's, which never ends,
    // is read as it stands.
    let began = Instant::now();
    let doc: WaitDoc = decode(
        "wait --any here and there",
        &h.run(&["--json", "wait", "--any", &on_r1, &here[..8]])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert!(began.elapsed() < Duration::from_secs(20));
    assert!(!doc.timed_out);
    let got: Vec<(&str, &str)> = doc
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s.host.as_ref().unwrap().name.as_str()))
        .collect();
    assert_eq!(got, [(hanging.as_str(), "r1"), (here.as_str(), "local")]);
    assert_eq!(
        doc.sessions[0].status,
        crate::support::contract::Status::Running
    );
    assert_eq!(
        doc.sessions[1].status,
        crate::support::contract::Status::Completed
    );

    // Without --any, both: r1's runs on past the timeout.
    let text = h
        .run(&["wait", "--timeout", "1s", &here[..8], &on_r1])
        .expect(124, ANY, ANY)
        .stdout();
    assert!(
        text.contains(&here[..8]) && text.contains(&hanging[..8]),
        "{text}"
    );
    assert_eq!(h.far.meta(&hanging)["status"], "running");
    h.run(&["kill", &on_r1]).expect(0, ANY, EMPTY);
    h.run(&["wait", &here, &on_r1]).expect(4, ANY, ANY);
    // A remote that cannot be asked is said, by name, beside the answer here.
    h.run(&["wait", &here, "nowhere:3f2a"])
        .expect(1, EMPTY, has("no remote named 'nowhere'"));
}

/// `git -C dir args...`, which must succeed.
fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// `dir` as a repository with one commit of `a.txt`.
fn repo(dir: &std::path::Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "dev@example.com"]);
    git(dir, &["config", "user.name", "dev"]);
    std::fs::write(dir.join("a.txt"), "one\ntwo\n").unwrap();
    git(dir, &["add", "a.txt"]);
    git(dir, &["commit", "-q", "-m", "first"]);
}

#[test]
fn apply_brings_a_remote_change_into_the_checkout_here_or_changes_nothing() {
    let h = SshHost::start();
    h.add("r1");
    // The same project there and here, each its own repository.
    let (there, here) = (h.far.work.path(), h.near.work.path());
    repo(there);
    repo(here);
    h.far
        .agent
        .edit(1, "printf 'three\\n' >> a.txt; printf 'new\\n' > new.txt")
        .every_turn(&transcript("codex_first_turn.jsonl"));
    let id = h
        .run(&["start", "--host", "r1", "add a file"])
        .expect(0, ANY, EMPTY)
        .stdout()
        .trim()
        .to_string();
    let on_r1 = format!("r1:{}", &id[..8]);
    h.run(&["wait", &on_r1]).expect(0, ANY, EMPTY);

    // A conflicting edit here: nothing is applied, the file is named.
    std::fs::write(here.join("a.txt"), "one\nTWO\n").unwrap();
    let doc: ApplyDoc = decode(
        "apply --json r1:ID",
        &h.run(&["--json", "apply", &on_r1])
            .expect(1, ANY, has("conflicts"))
            .stdout(),
    );
    assert!(!doc.applied);
    assert_eq!(doc.files, ["a.txt"]);
    assert_eq!(doc.host.map(|x| x.name).as_deref(), Some("r1"));
    assert_eq!(
        std::fs::read_to_string(here.join("a.txt")).unwrap(),
        "one\nTWO\n"
    );
    assert!(!here.join("new.txt").exists(), "all or nothing");

    // Without it, the change arrives uncommitted, the index untouched.
    git(here, &["checkout", "--", "a.txt"]);
    let doc: ApplyDoc = decode(
        "apply --json r1:ID",
        &h.run(&["--json", "apply", &on_r1])
            .expect(0, ANY, EMPTY)
            .stdout(),
    );
    assert!(doc.applied);
    assert_eq!(doc.id, id);
    assert_eq!(doc.files, ["a.txt", "new.txt"]);
    assert_eq!(
        std::fs::read_to_string(here.join("a.txt")).unwrap(),
        "one\ntwo\nthree\n"
    );
    assert_eq!(
        std::fs::read_to_string(here.join("new.txt")).unwrap(),
        "new\n"
    );
    let staged = std::process::Command::new("git")
        .args([
            "-C",
            here.to_str().unwrap(),
            "diff",
            "--cached",
            "--name-only",
        ])
        .output()
        .unwrap();
    assert!(staged.stdout.is_empty());
    // The session there is untouched; a session unknown there is said so.
    assert_eq!(h.far.meta(&id)["status"], "completed");
    h.run(&["apply", "r1:deadbeef"])
        .expect(3, EMPTY, has("no session matches 'deadbeef'"));
}

#[test]
fn a_watch_whose_connection_is_cut_says_so_and_the_remote_session_runs_on() {
    let (h, id) = hanging_on_r1();
    let on_r1 = format!("r1:{id}");
    let watching = run_there(&h, &["--json", "watch", &on_r1], "watch");
    assert!(h.cut() > 0, "no connection to cut");
    let out = watching.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the connection to host r1 was cut"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    crate::support::poll::eventually(Duration::from_secs(10), "the remote watch to end", || {
        !runs_there(&h, "watch")
    });
    // Every line that came before the cut is whole, with its host.
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect(line);
        assert_eq!(v["host"]["name"], "r1", "{line}");
    }
    // The session there is untouched, and a new watch picks it up.
    assert_eq!(h.far.meta(&id)["status"], "running");
    let again = h
        .cmd(&["watch", &on_r1])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    h.run(&["kill", &on_r1]).expect(0, ANY, EMPTY);
    assert_eq!(again.wait_with_output().unwrap().status.code(), Some(4));
}

#[test]
fn a_link_that_goes_silent_is_noticed_by_its_keepalives_and_the_remote_wait_ends_with_it() {
    let h = SshHost::start();
    // The remote's own options come first and win over zwarm's 15 s.
    h.add_with(
        "r1",
        &["-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"],
    );
    let id = hang_on_r1(&h);
    let on_r1 = format!("r1:{id}");
    let waiting = run_there(&h, &["wait", &on_r1], "wait");
    // Nothing is closed: the server just stops answering.
    let frozen = h.freeze();
    assert!(!frozen.is_empty(), "no connection to freeze");
    let silent = Instant::now();
    let out = waiting.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the connection to host r1 was cut"), "{err}");
    assert!(
        silent.elapsed() < Duration::from_secs(20),
        "{:?}",
        silent.elapsed()
    );
    // Once the link is back, the wait there finds its reader gone and
    // ends; the session goes on.
    h.thaw(&frozen);
    crate::support::poll::eventually(Duration::from_secs(10), "the remote wait to end", || {
        !runs_there(&h, "wait")
    });
    assert_eq!(h.far.meta(&id)["status"], "running");
    h.run(&["kill", &on_r1]).expect(0, ANY, EMPTY);
}
