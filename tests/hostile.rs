//! A hostile store: the store usually lies inside the agent's workspace, so
//! whatever runs there can plant links at the names zwarm writes, edit
//! `meta.json` to widen the next turn's rights, or leave files no reader
//! should load whole. The real binary, with fake agents (and, for the long
//! task, the real CLIs against the loopback mocks). Each test prints a
//! one-line figure on stderr (`-- --nocapture` shows it).

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::agents::{self, target_tempdir};
use support::e2e::{self, Zwarm};
use support::fake::{error_of, expect, stderr, stdout, transcript, World};
use support::{mock_messages, mock_responses};
use tempfile::TempDir;

const STARTED: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- helpers

/// A folder outside the store, with a file and a folder in it, that a
/// followed link would write into.
struct Outside {
    dir: TempDir,
}

impl Outside {
    fn new() -> Outside {
        let dir = target_tempdir("outside-");
        std::fs::write(dir.path().join("precious"), b"keep me\n").unwrap();
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        std::fs::write(dir.path().join("folder/inner"), b"keep me too\n").unwrap();
        Outside { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self) -> PathBuf {
        self.path().join("precious")
    }

    fn folder(&self) -> PathBuf {
        self.path().join("folder")
    }

    /// What is there now.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(self.path())
    }

    /// Byte-identical to `before`, and nothing new.
    #[track_caller]
    fn assert_untouched(&self, before: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
        let after = self.snapshot();
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{what}: files appeared or vanished outside the store"
        );
        for (path, bytes) in before {
            assert!(
                after.get(path) == Some(bytes),
                "{what}: {} outside the store changed",
                path.display()
            );
        }
    }
}

/// Every file, folder and link under `root`, links not followed: a file's
/// bytes, a link's target, a folder's mode.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let what = if m.is_symlink() {
                let mut v = b"link:".to_vec();
                v.extend(
                    std::fs::read_link(&path)
                        .unwrap()
                        .as_os_str()
                        .as_encoded_bytes(),
                );
                v
            } else if m.is_dir() {
                todo.push(path.clone());
                format!(
                    "dir:{:o}",
                    std::os::unix::fs::PermissionsExt::mode(&m.permissions())
                )
                .into_bytes()
            } else {
                std::fs::read(&path).unwrap()
            };
            out.insert(path, what);
        }
    }
    out
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink())
}

/// Replaces whatever stands at `at` by a link to `to`.
fn plant(at: &Path, to: &Path) {
    match std::fs::symlink_metadata(at) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(at).unwrap(),
        Ok(_) => std::fs::remove_file(at).unwrap(),
        Err(_) => {}
    }
    symlink(to, at).unwrap();
}

/// A codex session that ran one turn to completion.
fn finished(w: &World, args: &[&str]) -> String {
    w.agent.every_turn(&transcript("codex_first_turn.jsonl"));
    let mut all = args.to_vec();
    all.push("the task");
    let id = w.start(&all);
    assert_eq!(w.wait(&id), 0, "{}", w.meta(&id));
    id
}

fn meta_bytes(w: &World, id: &str) -> Vec<u8> {
    std::fs::read(w.session_dir(id).join("meta.json")).unwrap()
}

/// Replaces a file through a rename, as an agent would.
fn put_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("edit");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn put_meta(w: &World, id: &str, bytes: &[u8]) {
    put_file(&w.session_dir(id).join("meta.json"), bytes);
}

fn edit_meta(w: &World, id: &str, f: impl FnOnce(&mut Value)) {
    let mut meta = w.meta(id);
    f(&mut meta);
    put_meta(w, id, &serde_json::to_vec_pretty(&meta).unwrap());
}

/// The problems `doctor` reported for `id`, as kinds.
fn doctor_kinds(doc: &Value, id: &str) -> Vec<String> {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["session"] == id)
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect()
}

fn doctor_problem<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["session"] == id)
        .unwrap_or_else(|| panic!("doctor says nothing of {id}: {doc:#}"))
}

fn parse(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

fn listed_ids(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Runs the command `make` builds and tells its peak resident set in KiB
/// (VmHWM, read as it exits: it runs traced, and stops at its exit before
/// its memory is released) and how long it took. `wait4`'s `ru_maxrss`
/// would not do: it also counts the memory the child shared with this
/// large, many-threaded test process until its exec. Where tracing is not
/// permitted, the command runs with its data capped at `cap_kib`
/// (RLIMIT_DATA) instead, and the peak is None.
fn run_peak(make: impl Fn() -> Command, cap_kib: u64) -> (Output, Option<u64>, Duration) {
    let mut cmd = make();
    // SAFETY: only ptrace, which is async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let Ok(mut child) = child else {
        let mut cmd = make();
        let cap = cap_kib * 1024;
        // SAFETY: only setrlimit between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: cap,
                    rlim_max: cap,
                };
                if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let out = cmd.output().expect("run zwarm");
        return (out, None, started.elapsed());
    };
    let collect = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let err_t = collect(child.stderr.take().map(|p| Box::new(p) as _));
    let pid = child.id() as libc::pid_t;
    let wait = || {
        let mut status = 0;
        loop {
            // SAFETY: waitpid on our own child with a valid out-pointer.
            if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
                return status;
            }
            let e = std::io::Error::last_os_error();
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "waitpid: {e}");
        }
    };
    let resume = |signal: libc::c_int| {
        // SAFETY: ptrace on a tracee of ours that is stopped.
        unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, signal) };
    };
    // Stopped once its exec is done.
    let status = wait();
    assert!(
        libc::WIFSTOPPED(status),
        "not stopped at its exec: {status:x}"
    );
    let options = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL;
    // SAFETY: as above.
    unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) };
    resume(0);
    let mut peak = None;
    let status = loop {
        let status = wait();
        if !libc::WIFSTOPPED(status) {
            break status;
        }
        let signal = libc::WSTOPSIG(status);
        if signal == libc::SIGTRAP && status >> 16 == libc::PTRACE_EVENT_EXIT {
            let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            peak = text.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            });
            resume(0);
        } else {
            resume(signal);
        }
    };
    let elapsed = started.elapsed();
    let out = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    };
    let peak = peak.expect("no VmHWM at the traced command's exit");
    (out, Some(peak), elapsed)
}

/// The pid of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    c.wait().unwrap();
    c.id()
}

// ------------------------------------------------- links at written names

/// A link planted at each name an `inject` writes in a session folder
/// (`turns/turn_2.jsonl`, `turns/turn_2.stderr`, `turns/` itself,
/// `supervisor.log`, `meta.lock`, `run.lock`) is never followed: the inject
/// fails with one error line naming the link, the agent is not started,
/// and the file or folder the link points at is byte-identical afterwards
/// with nothing new in it.
#[test]
fn an_inject_never_writes_through_a_link_in_the_session_folder() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let outside = Outside::new();
    let cases: [(&str, PathBuf); 6] = [
        ("turns/turn_2.jsonl", outside.file()),
        ("turns/turn_2.stderr", outside.file()),
        ("turns", outside.folder()),
        ("supervisor.log", outside.file()),
        ("meta.lock", outside.file()),
        ("run.lock", outside.file()),
    ];
    for (name, target) in &cases {
        let id = finished(&w, &[]);
        let planted = w.session_dir(&id).join(name);
        plant(&planted, target);
        let before = outside.snapshot();
        let meta_before = meta_bytes(&w, &id);
        let calls = w.agent.calls();
        let out = w.run(&["inject", &id, "next"]);
        expect(&out, 1);
        assert!(stdout(&out).is_empty(), "{name}: {}", stdout(&out));
        let err = error_of(&out);
        assert!(
            err.contains(&planted.display().to_string()) && err.contains("symbolic link"),
            "{name}: the error does not name the link: {err}"
        );
        assert_eq!(w.agent.calls(), calls, "{name}: the agent was started");
        outside.assert_untouched(&before, name);
        assert!(is_link(&planted), "{name}: the link itself was replaced");
        if *name == "meta.lock" {
            // Refused before anything is written.
            assert_eq!(meta_bytes(&w, &id), meta_before, "{name}");
        }
        // Whatever was recorded, the session reads as not running.
        let shown = w.json(&["show", &id]);
        assert_ne!(shown["status"], "running", "{name}: {shown}");
        assert_ne!(shown["status"], "pending", "{name}: {shown}");
    }
    eprintln!(
        "links: {} links planted in session folders before inject, none followed, each named",
        cases.len()
    );
}

/// The same names as hard links to files outside the store, which no
/// `O_NOFOLLOW` catches: the inject fails naming the file, the agent is not
/// started, and the outside files are byte-identical.
#[test]
fn an_inject_never_appends_to_a_hard_link() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let outside = Outside::new();
    let names = [
        "turns/turn_2.jsonl",
        "turns/turn_2.stderr",
        "supervisor.log",
    ];
    for name in names {
        let id = finished(&w, &[]);
        let planted = w.session_dir(&id).join(name);
        let _ = std::fs::remove_file(&planted);
        std::fs::hard_link(outside.file(), &planted).unwrap();
        let before = outside.snapshot();
        let calls = w.agent.calls();
        let out = w.run(&["inject", &id, "next"]);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&planted.display().to_string()) && err.contains("hard links"),
            "{name}: {err}"
        );
        assert_eq!(w.agent.calls(), calls, "{name}: the agent was started");
        outside.assert_untouched(&before, name);
        std::fs::remove_file(&planted).unwrap();
    }
    eprintln!(
        "links: {} hard links planted before inject, none written through",
        names.len()
    );
}

/// A session's own folder (`sessions/<id>`) as a link to a session folder
/// outside: every command refuses to read or write through it, `list`
/// reports it, `doctor --fix` moves the link (not its target) into
/// quarantine, and the outside folder is untouched.
#[test]
fn a_linked_session_folder_is_refused_and_only_the_link_is_moved() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let outside = Outside::new();
    let id = finished(&w, &[]);
    let folder = w.session_dir(&id);
    let target = outside.path().join(&id);
    std::fs::rename(&folder, &target).unwrap();
    symlink(&target, &folder).unwrap();
    let before = outside.snapshot();
    let calls = w.agent.calls();
    let commands: [&[&str]; 7] = [
        &["show", &id],
        &["trajectory", &id],
        &["wait", "--timeout", "1s", &id],
        &["inject", &id, "next"],
        &["kill", &id],
        &["rm", &id],
        &["rm", "--force", &id],
    ];
    for args in commands {
        let out = w.run(args);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&id) && err.contains("symbolic link"),
            "{args:?}: reading through the linked folder is not refused: {err}"
        );
        outside.assert_untouched(&before, &format!("{args:?}"));
    }
    let out = w.run(&["--json", "list"]);
    expect(&out, 0);
    let list = parse(&out);
    assert_eq!(listed_ids(&list), Vec::<String>::new(), "{list:#}");
    assert_eq!(list["problems"][0]["id"], id.as_str(), "{list:#}");
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 0, "{doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_problem(&doc, &id)["fixed"], true, "{doc:#}");
    let moved: Vec<PathBuf> = std::fs::read_dir(w.state.path().join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1);
    assert!(is_link(&moved[0]), "the link's target was moved");
    outside.assert_untouched(&before, "doctor --fix");
    assert_eq!(w.agent.calls(), calls);
    eprintln!(
        "links: a linked session folder was refused by {} commands and list; doctor --fix moved only the link",
        commands.len()
    );
}

/// `meta.json` as a link to a valid-looking session outside the store is
/// never read as the session: `show` and `inject` refuse it naming the
/// link, `list` reports it as a problem instead of listing the forged
/// content, `doctor` reports it as unreadable and `doctor --fix` moves the
/// folder (link and all) into quarantine; the file outside is untouched.
#[test]
fn a_linked_meta_json_is_never_read_as_the_session() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let outside = Outside::new();
    let good = finished(&w, &[]);
    let id = finished(&w, &[]);
    let forged = outside.path().join("meta.json");
    let mut meta = w.meta(&id);
    meta["task"] = json!("FORGED OUTSIDE");
    std::fs::write(&forged, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    let planted = w.session_dir(&id).join("meta.json");
    plant(&planted, &forged);
    let before = outside.snapshot();
    let calls = w.agent.calls();

    // Read through the link: refused.
    for args in [
        &["show", &id][..],
        &["inject", &id, "next"],
        &["trajectory", &id],
    ] {
        let out = w.run(args);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&planted.display().to_string()) && err.contains("symbolic link"),
            "{args:?}: the read through the link is not refused naming it: {err}"
        );
        assert!(
            !stdout(&out).contains("FORGED"),
            "{args:?}: read the forged file"
        );
    }
    assert_eq!(w.agent.calls(), calls, "the agent was started");

    let out = w.run(&["--json", "list"]);
    expect(&out, 0);
    let list = parse(&out);
    assert_eq!(listed_ids(&list), [good.as_str()], "{list:#}");
    let problems = list["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{list:#}");
    assert_eq!(problems[0]["id"], id.as_str());
    assert!(
        problems[0]["error"]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{list:#}"
    );
    let out = w.run(&["list"]);
    expect(&out, 0);
    assert!(!stdout(&out).contains("FORGED"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&good[..8]), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&id) && stderr(&out).contains("symbolic link"),
        "{}",
        stderr(&out)
    );

    let (code, doc) = w.json_any(&["doctor"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_kinds(&doc, &id), ["unreadable_meta"], "{doc:#}");
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 0, "everything was repaired: {doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let p = doctor_problem(&doc, &id);
    assert_eq!(p["fixed"], true, "{doc:#}");
    assert!(!w.session_dir(&id).exists());
    let moved: Vec<PathBuf> = std::fs::read_dir(w.state.path().join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(is_link(&moved[0].join("meta.json")), "moved as it was");
    outside.assert_untouched(&before, "a linked meta.json");
    assert_eq!(w.agent.calls(), calls);
    eprintln!("links: meta.json linked to a forged session was refused by show, inject, trajectory, list and doctor, and quarantined");
}

/// The stall marker `turns/turn_1.stall` planted as a link to a marker
/// outside is neither read (the stall is not dated from it) nor written
/// through (the marker is replaced by a file of the store's own). A regular
/// file with the same bytes is read, so the link was refused, not ignored
/// for its content.
#[test]
fn a_linked_stall_marker_is_neither_read_nor_written_through() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let outside = Outside::new();
    // Work first (a command ran), then only retries: a stall whose start
    // is recorded in the marker.
    let work: String = transcript("codex_first_turn.jsonl")
        .lines()
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    let retries: String = transcript("codex_connection_refused_then_sigterm.jsonl")
        .lines()
        .skip(3)
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(retries.contains("Reconnecting"), "{retries}");
    w.agent.turn(1, format!("{work}{retries}")).hang(1);
    let id = w.start(&["the task"]);
    w.agent.wait_hanging(1, STARTED);
    let ancient = "2001-01-01T00:00:00.000000";
    let marker = json!({"offset": work.len(), "since": ancient}).to_string();
    let forged = outside.path().join("stall");
    std::fs::write(&forged, &marker).unwrap();
    let planted = w.session_dir(&id).join("turns/turn_1.stall");
    plant(&planted, &forged);
    let before = outside.snapshot();

    let stalled_since = |w: &World| {
        let out = w.run(&["--json", "--stall-after", "0s", "show", &id]);
        expect(&out, 0);
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
        let shown = parse(&out);
        assert_eq!(shown["status"], "running", "{shown:#}");
        shown["stalled"]["since"]
            .as_str()
            .unwrap_or_else(|| panic!("not stalled: {shown:#}"))
            .to_string()
    };
    let since = stalled_since(&w);
    assert_ne!(since, ancient, "the stall was dated from the linked marker");
    outside.assert_untouched(&before, "turns/turn_1.stall");
    assert!(
        !is_link(&planted) && planted.is_file(),
        "the link was not replaced by the store's own marker"
    );
    // The same bytes in a file of the store are the marker.
    put_file(&planted, marker.as_bytes());
    assert_eq!(stalled_since(&w), ancient, "the marker format is read");
    expect(&w.run(&["kill", &id]), 0);
    eprintln!("links: a linked stall marker was neither read nor written through");
}

/// The list index (`.zwarm/list-index/`) linked to an outside folder gets
/// nothing written into it by a `list` of finished, settled sessions, which
/// without the link does write the index; a shard (`list-index/<digit>`)
/// planted as a link to a copy of the real shard is not read as the index
/// (its session is read from `meta.json` and the shard rewritten as a file
/// of the store's own), and its target is untouched.
#[test]
fn list_never_reads_or_writes_the_index_through_a_link() {
    let a = World::new();
    let b = World::new();
    let outside = Outside::new();
    let ids_a: Vec<String> = (0..3).map(|_| finished(&a, &[])).collect();
    let ids_b: Vec<String> = (0..3).map(|_| finished(&b, &[])).collect();
    let index_a = a.state.path().join("list-index");
    plant(&index_a, &outside.folder());
    // Only files settled for two seconds are indexed.
    std::thread::sleep(Duration::from_millis(2100));

    let before = outside.snapshot();
    let out = a.run(&["--json", "list"]);
    expect(&out, 0);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let mut listed = listed_ids(&parse(&out));
    listed.sort();
    let mut want = ids_a.clone();
    want.sort();
    assert_eq!(listed, want);
    outside.assert_untouched(&before, "a linked list-index/");
    assert!(is_link(&index_a));
    // Without the link, the same listing writes the index.
    std::fs::remove_file(&index_a).unwrap();
    expect(&a.run(&["list"]), 0);
    let shards = std::fs::read_dir(&index_a).unwrap().count();
    assert!(
        shards > 0,
        "list wrote no index: the case above proved nothing"
    );

    // A shard linked to a copy of the real one.
    expect(&b.run(&["list"]), 0);
    let index_b = b.state.path().join("list-index");
    let digit = &ids_b[0][..1];
    let shard = index_b.join(digit);
    let copy = outside.path().join("shard");
    std::fs::copy(&shard, &copy).unwrap();
    plant(&shard, &copy);
    // A shard of a digit no session has is not rewritten: left as it is.
    let unused = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|d| !ids_b.iter().any(|id| id.starts_with(d.as_str())))
        .unwrap();
    let idle = index_b.join(&unused);
    plant(&idle, &outside.file());
    let before = outside.snapshot();
    let out = b.run(&["--json", "list"]);
    expect(&out, 0);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(listed_ids(&parse(&out)).len(), 3);
    outside.assert_untouched(&before, "a linked shard");
    assert!(
        !is_link(&shard) && shard.is_file(),
        "the linked shard was read as the index (it was not rewritten)"
    );
    assert!(is_link(&idle), "a shard with no change was replaced");
    eprintln!(
        "links: a linked list-index/ and a linked shard were neither read nor written through"
    );
}

/// `doctor --fix` with `.zwarm/quarantine` (or a session's folder in it)
/// linked to an outside folder moves nothing through the link: the
/// unreadable session and the leftover temporary file stay where they
/// are, the finding says why, and the outside folder is untouched. Without
/// the link the same repair moves them into quarantine.
#[test]
fn doctor_fix_never_quarantines_through_a_link() {
    let w = World::new();
    let outside = Outside::new();
    let broken = finished(&w, &[]);
    put_meta(&w, &broken, b"{\"id\": ");
    let leftover = finished(&w, &[]);
    let tmp_name = format!(".meta.json.{}.tmp", dead_pid());
    std::fs::write(w.session_dir(&leftover).join(&tmp_name), b"half").unwrap();
    let quarantine = w.state.path().join("quarantine");
    plant(&quarantine, &outside.folder());
    let before = outside.snapshot();

    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 1, "{doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    for id in [&broken, &leftover] {
        let p = doctor_problem(&doc, id);
        assert_eq!(p["fixed"], false, "{doc:#}");
        assert!(
            p["action"].as_str().unwrap().contains("symbolic link"),
            "{doc:#}"
        );
    }
    assert_eq!(doctor_kinds(&doc, &broken), ["unreadable_meta"]);
    assert_eq!(doctor_kinds(&doc, &leftover), ["temp_file"]);
    assert!(w.session_dir(&broken).join("meta.json").is_file());
    assert!(w.session_dir(&leftover).join(&tmp_name).is_file());
    outside.assert_untouched(&before, "a linked quarantine/");

    // A real quarantine/, with the session's own folder in it linked.
    std::fs::remove_file(&quarantine).unwrap();
    std::fs::create_dir(&quarantine).unwrap();
    plant(&quarantine.join(&leftover), &outside.folder());
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 1, "{doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_problem(&doc, &leftover)["fixed"], false, "{doc:#}");
    assert_eq!(doctor_problem(&doc, &broken)["fixed"], true, "{doc:#}");
    assert!(w.session_dir(&leftover).join(&tmp_name).is_file());
    outside.assert_untouched(&before, "a linked quarantine/<id>/");

    // Without links, the temporary file is moved too.
    std::fs::remove_file(quarantine.join(&leftover)).unwrap();
    let (_, doc) = w.json_any(&["doctor", "--fix"]);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doctor_problem(&doc, &leftover)["fixed"], true, "{doc:#}");
    assert!(!w.session_dir(&leftover).join(&tmp_name).exists());
    outside.assert_untouched(&before, "doctor --fix");
    eprintln!("links: doctor --fix moved nothing through a linked quarantine/ or quarantine/<id>/");
}

/// The store's `sessions` folder itself linked to an outside folder (here
/// holding a session and an unfinished removal): every command that would
/// read or write a session refuses, naming the link, `start` creates
/// nothing, and the outside folder is untouched.
#[test]
fn a_linked_sessions_folder_is_refused_by_every_command() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let outside = Outside::new();
    let id = finished(&w, &[]);
    let sessions = w.state.path().join("sessions");
    let moved = outside.path().join("sessions");
    std::fs::rename(&sessions, &moved).unwrap();
    std::fs::create_dir(moved.join(".removing-0123abcd")).unwrap();
    std::fs::write(moved.join(".removing-0123abcd/file"), b"keep me").unwrap();
    symlink(&moved, &sessions).unwrap();
    let before = outside.snapshot();
    let calls = w.agent.calls();
    let commands: [&[&str]; 9] = [
        &["list"],
        &["show", &id],
        &["trajectory", &id],
        &["wait", "--timeout", "1s", &id],
        &["inject", &id, "next"],
        &["start", "another task"],
        &["kill", &id],
        &["rm", &id],
        &["rm", "--force", &id],
    ];
    for args in commands {
        let out = w.run(args);
        expect(&out, 1);
        let err = error_of(&out);
        assert!(
            err.contains(&sessions.display().to_string()) && err.contains("symbolic link"),
            "{args:?}: reading or writing through the link is not refused naming it: {err}"
        );
        outside.assert_untouched(&before, &format!("{args:?}"));
    }
    assert_eq!(w.agent.calls(), calls, "an agent was started");
    assert!(is_link(&sessions));
    eprintln!(
        "links: a linked sessions/ was refused by {} commands, naming it",
        commands.len()
    );
}

/// `doctor` with the store's `sessions` folder linked to an outside folder
/// removes nothing there: an unfinished removal (`.removing-<id>`) in the
/// link's target is not the store's to finish. It reports the link.
#[test]
fn doctor_fix_never_removes_through_a_linked_sessions_folder() {
    let w = World::new();
    let outside = Outside::new();
    let sessions = w.state.path().join("sessions");
    let target = outside.path().join("sessions");
    std::fs::create_dir_all(target.join(".removing-0123abcd")).unwrap();
    std::fs::write(target.join(".removing-0123abcd/file"), b"keep me").unwrap();
    symlink(&target, &sessions).unwrap();
    let before = outside.snapshot();
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    outside.assert_untouched(
        &before,
        "BUG (src/session/doctor.rs, stray_files): `doctor --fix` finished an \
         interrupted removal by path through the linked sessions/ folder, deleting \
         .removing-0123abcd outside the store",
    );
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        code, 1,
        "BUG (src/session/doctor.rs): doctor calls a store whose sessions/ is a link healthy: {doc:#}"
    );
    assert!(
        doc.to_string().contains("symbolic link"),
        "BUG (src/session/doctor.rs): doctor does not name the linked sessions/: {doc:#}"
    );
    eprintln!("links: doctor --fix removed nothing through a linked sessions/");
}

/// A link at `.removing-<id>`, the name `rm` renames a session to before
/// removing it, is not followed: the link itself is cleared away, the
/// session removed, the link's target untouched.
#[test]
fn rm_never_removes_through_a_link_at_its_removal_name() {
    let w = World::new();
    let outside = Outside::new();
    for args in [&["rm"][..], &["rm", "--force"]] {
        let id = finished(&w, &[]);
        let planted = w.state.path().join(format!("sessions/.removing-{id}"));
        plant(&planted, &outside.folder());
        let before = outside.snapshot();
        let mut args = args.to_vec();
        args.push(&id);
        let out = w.run(&args);
        expect(&out, 0);
        outside.assert_untouched(&before, "rm");
        assert!(!w.session_dir(&id).exists(), "{args:?}");
        assert!(std::fs::symlink_metadata(&planted).is_err(), "{args:?}");
    }
    eprintln!("links: rm with a link at .removing-<id> removed the link, not its target");
}

/// A FIFO planted at `meta.json` does not hang `list` (or `show`): it is
/// reported as not a regular file, and the other sessions are listed.
#[test]
fn a_fifo_at_meta_json_hangs_no_reader() {
    let w = World::new();
    let good = finished(&w, &[]);
    let id = finished(&w, &[]);
    let meta = w.session_dir(&id).join("meta.json");
    std::fs::remove_file(&meta).unwrap();
    let c = std::ffi::CString::new(meta.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    for args in [&["--json", "list"][..], &["show", &id]] {
        let mut child = w
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{args:?} hangs on a FIFO at meta.json");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().unwrap();
        if args[0] == "--json" {
            expect(&out, 0);
            let list = parse(&out);
            assert_eq!(listed_ids(&list), [good.as_str()], "{list:#}");
            assert_eq!(list["problems"][0]["id"], id.as_str(), "{list:#}");
            assert!(list["problems"][0]["error"]
                .as_str()
                .unwrap()
                .contains("not a regular file"));
        } else {
            expect(&out, 1);
            assert!(error_of(&out).contains("not a regular file"));
        }
    }
    eprintln!("hostile: a FIFO at meta.json hung neither list nor show");
}

// ------------------------------------------------------- tampered rights

/// Keys of `meta.json` that decide the next turn's rights, each edited as
/// an agent in the workspace could: `inject` refuses, naming the key (exit
/// 1), the agent is not started, `meta.json` is left as it was; with the
/// original value back, `inject` runs with the recorded sandbox. A session
/// without a record (started before records were kept) injects with valid
/// values and is refused an invalid sandbox.
#[test]
fn tampered_rights_never_take_effect() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let elsewhere = agents::work_dir();
    let id = finished(&w, &["-s", "read-only"]);
    let argv = w.agent.argv(1);
    assert!(
        argv.contains(&"--sandbox=read-only".to_string()),
        "{argv:?}"
    );
    let original = meta_bytes(&w, &id);
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
        edit_meta(&w, &id, |m| m[*key] = value.clone());
        let edited = meta_bytes(&w, &id);
        let out = w.run(&["inject", &id, "next"]);
        expect(&out, 1);
        assert!(stdout(&out).is_empty());
        let err = error_of(&out);
        assert!(
            err.contains(&format!("`{key}`")) && err.contains(&id),
            "{key}: the error does not name the key: {err}"
        );
        assert_eq!(w.agent.calls(), calls, "{key} = {value}: the agent ran");
        assert_eq!(meta_bytes(&w, &id), edited, "{key}: meta.json was written");
        put_meta(&w, &id, &original);
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
    let _stop = w.stop_all_on_drop();
    let legacy = finished(&w, &["-s", "workspace-write"]);
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
    edit_meta(&w, &legacy, |m| m["sandbox"] = json!("yolo"));
    let edited = meta_bytes(&w, &legacy);
    let out = w.run(&["inject", &legacy, "next"]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(err.contains("`sandbox`") && err.contains("yolo"), "{err}");
    assert_eq!(w.agent.calls(), k, "the agent ran with sandbox yolo");
    assert_eq!(meta_bytes(&w, &legacy), edited);
    assert!(
        !record.exists(),
        "a record was made up for a legacy session"
    );

    // A session copied or forged into a store that keeps records: no
    // record, and a folder younger than the store's first record.
    let w = World::with_own_state_home();
    let _stop = w.stop_all_on_drop();
    let real = finished(&w, &["-s", "read-only"]);
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

// ------------------------------------------------------ oversized meta.json

/// A sparse 4 GB `meta.json` beside normal sessions: `list` lists the
/// others and reports that one, staying under 50 MiB of memory and well
/// under a second; `show` says it is larger than zwarm reads; `doctor`
/// reports it as unreadable_meta and `doctor --fix` leaves it in place.
#[test]
fn a_sparse_4_gb_meta_json_is_never_read() {
    let w = World::new();
    let others: Vec<String> = (0..3).map(|_| finished(&w, &[])).collect();
    let id = finished(&w, &[]);
    let meta = w.session_dir(&id).join("meta.json");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&meta)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();

    const CAP_KIB: u64 = 50 * 1024;
    // The peak, checked; `-` where only the cap could be applied.
    let mut figures = Vec::new();
    let mut measured = |args: &[&str]| {
        let (out, peak, took) = run_peak(|| w.cmd(args), CAP_KIB);
        if let Some(kib) = peak {
            assert!(kib < CAP_KIB, "{args:?} peaked at {kib} KiB");
        }
        let what: Vec<&str> = args.iter().copied().filter(|a| *a != id).collect();
        figures.push(format!(
            "{} {} in {took:.0?}",
            what.join(" "),
            peak.map_or(
                "ran under an RLIMIT_DATA cap of 50 MiB (tracing is not permitted here)".into(),
                |k| format!("peaked at {k} KiB")
            )
        ));
        (out, took)
    };
    for args in [&["--json", "list"][..], &["list"]] {
        let (out, took) = measured(args);
        expect(&out, 0);
        assert!(took < Duration::from_secs(1), "{args:?} took {took:?}");
        if args[0] == "--json" {
            let list = parse(&out);
            let mut listed = listed_ids(&list);
            listed.sort();
            let mut want = others.clone();
            want.sort();
            assert_eq!(listed, want, "{list:#}");
            let problems = list["problems"].as_array().unwrap();
            assert_eq!(problems.len(), 1, "{list:#}");
            assert_eq!(problems[0]["id"], id.as_str());
            assert!(
                problems[0]["error"]
                    .as_str()
                    .unwrap()
                    .contains("more than zwarm reads"),
                "{list:#}"
            );
        } else {
            for other in &others {
                assert!(stdout(&out).contains(&other[..8]), "{}", stdout(&out));
            }
            let err = stderr(&out);
            assert!(
                err.contains(&id) && err.contains("more than zwarm reads"),
                "{err}"
            );
        }
    }

    let (out, _) = measured(&["show", &id]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(
        err.contains("4294967296 bytes") && err.contains("more than zwarm reads"),
        "{err}"
    );

    let (out, _) = measured(&["--json", "doctor"]);
    expect(&out, 1);
    let doc = parse(&out);
    assert_eq!(doctor_kinds(&doc, &id), ["unreadable_meta"], "{doc:#}");
    let (code, doc) = w.json_any(&["doctor", "--fix"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let p = doctor_problem(&doc, &id);
    assert_eq!(p["kind"], "unreadable_meta");
    assert_eq!(p["fixed"], false, "{doc:#}");
    assert_eq!(std::fs::metadata(&meta).unwrap().len(), 4 << 30);
    let quarantined = std::fs::read_dir(w.state.path().join("quarantine"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(quarantined, 0, "moved into quarantine");
    eprintln!(
        "size: a sparse 4 GiB meta.json: {}; doctor --fix left it in place",
        figures.join(", ")
    );
}

// ------------------------------------------------------------- --dir typo

/// `--dir` naming a folder whose parent is missing is a usage error (exit
/// 2, one line naming the parent) and creates nothing, not even the
/// session's rights record; with an existing parent, only `.zwarm` is made.
#[test]
fn a_mistyped_dir_creates_nothing() {
    let fake = support::fake::FakeAgent::new();
    fake.every_turn(&transcript("codex_first_turn.jsonl"));
    let tmp = target_tempdir("dir-typo-");
    let work = agents::work_dir();
    let xdg = tmp.path().join("xdg");
    let run = |store: &Path| {
        agents::zwarm_command(store, work.path())
            .env("XDG_STATE_HOME", &xdg)
            .env("ZWARM_CODEX_BIN", fake.program())
            .args(["start", "task"])
            .output()
            .unwrap()
    };
    let typo = tmp.path().join("no/such/.zwarm");
    let out = run(&typo);
    expect(&out, 2);
    assert!(stdout(&out).is_empty());
    let err = error_of(&out);
    let parent = tmp.path().join("no/such");
    assert!(
        err.contains(&format!("{} does not exist", parent.display())),
        "{err}"
    );
    assert!(!tmp.path().join("no").exists(), "the path was created");
    assert!(!xdg.exists(), "a rights record was written");
    assert_eq!(fake.calls(), 0);

    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let store = real.join(".zwarm");
    let out = run(&store);
    expect(&out, 0);
    let id = stdout(&out).trim().to_string();
    let waited = agents::zwarm_command(&store, work.path())
        .env("XDG_STATE_HOME", &xdg)
        .args(["wait", "--timeout", "30s", &id])
        .output()
        .unwrap();
    expect(&waited, 0);
    let names: Vec<_> = std::fs::read_dir(&real)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [".zwarm"]);
    assert!(real.join(".zwarm/sessions").is_dir());
    eprintln!("dir: a mistyped --dir was a usage error that created nothing");
}

// ------------------------------------------------------ unreadable turns/

/// `doctor` calls a `turns/` that is a regular file, or a link to an
/// outside folder holding the turn files, `unreadable_turns`, not
/// `missing_turn_file`; `--fix` changes neither it nor the outside folder.
#[test]
fn doctor_calls_an_unreadable_turns_folder_so() {
    let w = World::new();
    let outside = Outside::new();
    let as_file = finished(&w, &[]);
    let as_link = finished(&w, &[]);
    let turns = w.session_dir(&as_file).join("turns");
    std::fs::remove_dir_all(&turns).unwrap();
    std::fs::write(&turns, b"not a folder").unwrap();
    // The link's target holds the very turn files: only a doctor that
    // followed it would find nothing wrong.
    let turns = w.session_dir(&as_link).join("turns");
    let copy = outside.path().join("turns");
    std::fs::rename(&turns, &copy).unwrap();
    symlink(&copy, &turns).unwrap();
    let before = outside.snapshot();
    for args in [&["doctor"][..], &["doctor", "--fix"]] {
        let (code, doc) = w.json_any(args);
        assert_eq!(code, 1, "{doc}");
        let doc: Value = serde_json::from_str(&doc).unwrap();
        for id in [&as_file, &as_link] {
            assert_eq!(doctor_kinds(&doc, id), ["unreadable_turns"], "{doc:#}");
        }
        assert_eq!(doc["problems"].as_array().unwrap().len(), 2, "{doc:#}");
    }
    let human = w.run(&["doctor"]);
    expect(&human, 1);
    assert!(
        stdout(&human).contains("unreadable_turns") && !stdout(&human).contains("missing_turn"),
        "{}",
        stdout(&human)
    );
    outside.assert_untouched(&before, "doctor --fix");
    assert!(w
        .session_dir(&as_file)
        .join("turns")
        .metadata()
        .unwrap()
        .is_file());
    assert!(is_link(&turns));
    eprintln!("doctor: a turns/ that is a file or a link was called unreadable_turns");
}

// ---------------------------------------------------------- a 1 MB task

/// About 1 MB of task in words of a few dozen bytes (no one argument near
/// the kernel's 128 KiB), starting with `head`; each word distinct.
fn long_task(head: &str) -> Vec<String> {
    let mut words = vec![head.to_string()];
    let mut len = head.len();
    let mut n = 0;
    while len < 1_000_000 {
        let w = format!("word-{n:06}-of-a-task-that-must-arrive-whole");
        len += w.len() + 1;
        words.push(w);
        n += 1;
    }
    words
}

/// The length of a process's command line.
fn cmdline_len(pid: i64) -> usize {
    std::fs::read(format!("/proc/{pid}/cmdline")).unwrap().len()
}

/// A 1 MB task with the fake agent: `start` exits 0 and the session
/// completes; the prompt reaches the agent on stdin from an anonymous file
/// (codex's argv ends with `-- -`, claude's has no prompt argument), and the
/// supervisor's own command line stays short; a 1 MB `inject` too, with
/// its prompt read back whole from the running agent's stdin.
#[test]
fn a_1_mb_task_reaches_the_fake_agent_on_stdin() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let words = long_task("first");
    let task = words.join(" ");
    let memfd = "/memfd:zwarm-prompt (deleted)";
    let start = |adapter: &str| {
        let mut args = vec!["start", "-a", adapter, "--"];
        args.extend(words.iter().map(String::as_str));
        let out = w.run(&args);
        expect(&out, 0);
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
        stdout(&out).trim().to_string()
    };

    // codex: completes, `-- -`.
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let id = start("codex");
    assert_eq!(w.wait(&id), 0, "{}", w.meta(&id));
    let argv = w.agent.argv(1);
    assert_eq!(argv[argv.len() - 2..], ["--", "-"], "{argv:?}");
    assert!(argv.iter().all(|a| a.len() < 4096), "a long argument");
    assert_eq!(w.agent.stdin(1), memfd);
    assert_eq!(w.meta(&id)["task"], task.as_str());

    // claude: completes, no prompt argument.
    w.agent.turn(2, transcript("claude_first_turn.jsonl"));
    let claude = start("claude");
    assert_eq!(w.wait(&claude), 0, "{}", w.meta(&claude));
    let argv = w.agent.argv(2);
    assert!(
        argv.last().unwrap().starts_with("--session-id="),
        "{argv:?}"
    );
    assert!(!argv.contains(&"--".to_string()), "{argv:?}");
    assert!(argv.iter().all(|a| a.len() < 4096), "a long argument");
    assert_eq!(w.agent.stdin(2), memfd);

    // A 1 MB inject into the codex session, held running: the supervisor's
    // argv is short, and the agent's stdin holds the message whole.
    let message_words = long_task("second");
    let message = message_words.join(" ");
    w.agent.turn(3, transcript("codex_resume.jsonl")).hang(3);
    let mut args = vec!["inject", &id, "--"];
    args.extend(message_words.iter().map(String::as_str));
    let out = w.run(&args);
    expect(&out, 0);
    w.agent.wait_hanging(3, STARTED);
    let meta = w.meta(&id);
    let supervisor = meta["turns"][1]["supervisor"]["pid"].as_i64().unwrap();
    let len = cmdline_len(supervisor);
    assert!(len < 4096, "the supervisor's cmdline is {len} bytes");
    let environ = std::fs::read(format!("/proc/{supervisor}/environ")).unwrap();
    assert!(
        environ.len() < message.len() / 2,
        "the supervisor's environment is {} bytes",
        environ.len()
    );
    let agent = w.agent.pid(3);
    let seen = std::fs::read(format!("/proc/{agent}/fd/0")).unwrap();
    assert!(
        seen == message.as_bytes(),
        "the agent read {} bytes",
        seen.len()
    );
    let argv = w.agent.argv(3);
    assert_eq!(argv[argv.len() - 4], "resume", "{argv:?}");
    assert_eq!(argv[argv.len() - 1], "-", "{argv:?}");
    assert_eq!(w.agent.stdin(3), memfd);
    expect(&w.run(&["kill", &id]), 0);
    eprintln!(
        "long task: {} bytes to codex and claude and {} bytes injected, on stdin; the supervisor's cmdline {len} bytes",
        task.len(),
        message.len()
    );
}

/// The real CLI receives a ~1 MB task whole.
fn real_cli_takes_a_1_mb_task(
    z: &Zwarm,
    adapter: &str,
    requests: impl Fn() -> Vec<String>,
    whole: impl Fn(&str, &str) -> bool,
) -> usize {
    let reply = format!("{adapter}-took-the-long-task");
    let words = long_task(&format!("SCN_SAY {reply}\n"));
    let task = words.join(" ");
    let work = z.work.path().to_str().unwrap().to_string();
    let mut args = vec!["start", "-a", adapter, "-C", &work, "--"];
    args.extend(words.iter().map(String::as_str));
    let out = z.zwarm(&args);
    expect(&out, 0);
    let id = stdout(&out).trim().to_string();
    let (code, shown) = z.wait(&id);
    assert_eq!(code, 0, "{shown:#}");
    assert_eq!(shown["status"], "completed", "{shown:#}");
    assert_eq!(shown["last_message"], reply.as_str(), "{shown:#}");
    let seen = requests();
    assert!(!seen.is_empty(), "no model request");
    assert!(
        whole(&seen[0], &task),
        "the model was sent {} bytes of a {}-byte task",
        seen[0].len(),
        task.len()
    );
    task.len()
}

/// End to end: `zwarm start` with a ~1 MB task against the codex mock
/// completes, and the model request carries the task whole.
#[test]
fn codex_takes_a_1_mb_task_end_to_end() {
    let mock = mock_responses::MockServer::start();
    let z = Zwarm::new(vec![e2e::codex(mock.port())]);
    let len = real_cli_takes_a_1_mb_task(
        &z,
        "codex",
        || {
            mock.model_requests()
                .iter()
                .map(|r| mock_responses::last_user_text(&r.body))
                .collect()
        },
        |seen, task| seen == task,
    );
    eprintln!("long task: codex took a {len}-byte task whole through zwarm");
}

/// End to end: `zwarm start -a claude` with a ~1 MB task against the
/// Messages mock completes, and the model request carries the task whole.
#[test]
fn claude_takes_a_1_mb_task_end_to_end() {
    let mock = mock_messages::MockServer::start();
    let z = Zwarm::new(vec![e2e::claude(mock.port())]);
    let len = real_cli_takes_a_1_mb_task(
        &z,
        "claude",
        || {
            mock.model_requests()
                .iter()
                .map(|r| mock_messages::last_user_text(&r.body))
                .collect()
        },
        |seen, task| seen.contains(task),
    );
    eprintln!("long task: claude took a {len}-byte task whole through zwarm");
}
