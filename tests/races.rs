//! Truth under concurrency: readers, `doctor --fix` and `kill` racing the
//! launch of turns, a launch held still for as long as a test likes, a
//! stopped supervisor, a store that cannot be written, and pids in
//! `meta.json` that name other users' processes. Each race is run
//! `ZWARM_RACE_ROUNDS` times (30 by default; `scripts/stress.sh` runs 500
//! with a busy loop on each core). Figures go to stderr (`--nocapture`).

mod support;

use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::fake::{error_of, expect, stderr, stdout, transcript, World};

const STARTED: Duration = Duration::from_secs(20);

/// How many times each race is run: `ZWARM_RACE_ROUNDS`, else 30.
fn rounds() -> usize {
    rounds_or(30)
}

/// `ZWARM_RACE_ROUNDS`, else `default` (fewer for the slow ones in CI).
fn rounds_or(default: usize) -> usize {
    std::env::var("ZWARM_RACE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)))
}

fn local_time_ago(ago: Duration) -> String {
    let t = chrono::Local::now().naive_local() - chrono::Duration::from_std(ago).unwrap();
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn edit_meta(w: &World, id: &str, f: impl FnOnce(&mut Value)) {
    let mut meta = w.meta(id);
    f(&mut meta);
    let path = w.session_dir(id).join("meta.json");
    let tmp = path.with_extension("test-edit");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
}

/// (state, start time) of a process, from /proc.
fn proc_state(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f[0].chars().next()?, f[19].parse().ok()?))
}

fn alive(pid: i32) -> bool {
    proc_state(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

/// Sets the flag when dropped: the loops that watch it stop even when the
/// thread that would have set it panicked, so a failed assertion fails the
/// test rather than hanging it.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn eventually(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill takes a pid and a signal number.
    unsafe { libc::kill(pid, sig) };
}

/// A finished one-turn session whose every later turn replays a completed
/// codex turn line by line, `delay` seconds apart.
fn quick_session(w: &World, delay: f64) -> String {
    w.agent
        .every_turn(&transcript("codex_resume.jsonl"))
        .turn(1, transcript("codex_first_turn.jsonl"))
        .delay(delay);
    let id = w.start(&["the task"]);
    assert_eq!(w.wait(&id), 0);
    id
}

/// Backdates a session as if it had been created an hour ago.
fn age(w: &World, id: &str) {
    let old = local_time_ago(Duration::from_secs(3600));
    edit_meta(w, id, |m| {
        m["created_at"] = json!(old);
        for t in m["turns"].as_array_mut().unwrap() {
            t["started_at"] = json!(old);
        }
    });
}

/// Every turn of the session, as (ending, settled_by).
fn endings(meta: &Value) -> Vec<(String, String)> {
    meta["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["ending"].as_str().unwrap_or("open").to_string(),
                t["settled_by"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

/// `list` and `show` in a loop while a session of an hour ago is continued
/// turn after turn: a reader must never settle the turn being launched (the
/// old grace was measured from the session's creation, so every reader in
/// that window called it failed, "supervisor never started"). Each turn is
/// `running` or `pending` while its agent runs, then `completed`.
#[test]
fn readers_never_settle_a_turn_being_launched_on_an_old_session() {
    let t0 = Instant::now();
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = quick_session(&w, 0.005);
    age(&w, &id);
    let done = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let seen_failed = Mutex::new(Vec::<String>::new());
    let n = rounds();
    std::thread::scope(|sc| {
        for reader in 0..2 {
            let (done, reads, seen_failed, w, id) = (&done, &reads, &seen_failed, &w, &id);
            sc.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let args: &[&str] = if reader == 0 {
                        &["--json", "list"]
                    } else {
                        &["--json", "show", id]
                    };
                    let out = w.run(args);
                    expect(&out, 0);
                    let doc = json_of(&out);
                    let s = if reader == 0 {
                        doc["sessions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|s| s["id"] == id.as_str())
                            .cloned()
                            .unwrap()
                    } else {
                        doc
                    };
                    if !["pending", "running", "completed"].contains(&s["status"].as_str().unwrap())
                    {
                        seen_failed.lock().unwrap().push(s.to_string());
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let _stop_readers = SetOnDrop(&done);
        for _ in 0..n {
            expect(&w.run(&["inject", &id, "more"]), 0);
            expect(&w.run(&["wait", "--timeout", "60s", &id]), 0);
        }
    });
    let seen = seen_failed.into_inner().unwrap();
    assert!(seen.is_empty(), "a reader saw: {seen:#?}");
    let meta = w.meta(&id);
    let ends = endings(&meta);
    assert_eq!(ends.len(), n + 1, "{meta}");
    assert!(
        ends.iter()
            .all(|(e, by)| e == "completed" && by == "supervisor"),
        "{ends:?}"
    );
    assert_eq!(w.agent.calls(), n + 1);
    eprintln!(
        "races: {n} injects into a session of an hour ago beside {} reads, every turn completed \
         and settled by its supervisor, none seen failed, in {:.1}s",
        reads.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
}

/// `doctor --fix` in a loop beside turns being launched: continued turns of
/// one session and fifty sessions started at once. No agent is stopped as
/// a stray, no creation under way is moved aside, every turn completes.
#[test]
fn doctor_fix_in_a_loop_stops_no_live_agent_and_moves_no_creation() {
    let t0 = Instant::now();
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = quick_session(&w, 0.002);
    age(&w, &id);
    let n = rounds();
    let done = AtomicBool::new(false);
    let doctors = AtomicUsize::new(0);
    let acted = Mutex::new(Vec::<String>::new());
    let started: Vec<String> = std::thread::scope(|sc| {
        {
            let (done, doctors, acted, w) = (&done, &doctors, &acted, &w);
            sc.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let out = w.run(&["--json", "doctor", "--fix"]);
                    let doc = json_of(&out);
                    for p in doc["problems"].as_array().unwrap() {
                        // Nothing in this store needs repairing, whatever
                        // moment doctor looks at it.
                        acted.lock().unwrap().push(p.to_string());
                    }
                    doctors.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let _stop_doctor = SetOnDrop(&done);
        let injects = sc.spawn(|| {
            for _ in 0..n {
                expect(&w.run(&["inject", &id, "more"]), 0);
                expect(&w.run(&["wait", "--timeout", "60s", &id]), 0);
            }
        });
        let starts: Vec<_> = (0..50)
            .map(|i| {
                let w = &w;
                sc.spawn(move || {
                    let out = w.run(&["start", &format!("task {i}")]);
                    expect(&out, 0);
                    stdout(&out).trim().to_string()
                })
            })
            .collect();
        let ids: Vec<String> = starts.into_iter().map(|h| h.join().unwrap()).collect();
        let mut args = vec!["wait", "--timeout", "60s"];
        args.extend(ids.iter().map(String::as_str));
        let waited = w.run(&args);
        let injected = injects.join();
        done.store(true, Ordering::Relaxed);
        injected.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        expect(&waited, 0);
        ids
    });
    let acted = acted.into_inner().unwrap();
    assert!(acted.is_empty(), "doctor found or did: {acted:#?}");
    assert!(!w.state.path().join("quarantine").exists());
    let ends = endings(&w.meta(&id));
    assert_eq!(ends.len(), n + 1);
    assert!(ends.iter().all(|(e, _)| e == "completed"), "{ends:?}");
    for s in &started {
        let ends = endings(&w.meta(s));
        assert_eq!(ends, [("completed".into(), "supervisor".into())], "{s}");
    }
    eprintln!(
        "races: {} doctor --fix runs beside {n} injects and 50 concurrent starts: no agent \
         stopped, nothing moved, every turn completed, in {:.1}s",
        doctors.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
}

/// An `inject` held still (SIGSTOP) between writing its turn and starting
/// the supervisor, on a session and a turn both dated an hour back: while
/// the launcher lives, nothing settles the turn — not `list`, `show`,
/// `wait` nor `doctor --fix` — and once it continues the turn runs and
/// completes.
#[test]
fn a_launch_held_still_is_never_settled_while_its_launcher_lives() {
    let t0 = Instant::now();
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let id = quick_session(&w, 0.0);
    age(&w, &id);
    let launcher = w
        .cmd(&["inject", &id, "more"])
        .env("ZWARM_TEST_STOP_BEFORE_SUPERVISOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = launcher.id() as i32;
    eventually("the launcher to stop itself", STARTED, || {
        proc_state(pid).is_some_and(|(s, _)| s == 'T')
    });
    // As old as can be: no grace period of any length can explain it.
    edit_meta(&w, &id, |m| {
        m["turns"][1]["started_at"] = json!(local_time_ago(Duration::from_secs(3600)));
    });
    let rounds = rounds_or(10);
    for _ in 0..rounds {
        let shown = w.json(&["show", &id]);
        assert_eq!(shown["status"], "pending", "{shown}");
        assert_eq!(shown["turns"], 2);
        let listed = w.json(&["list"]);
        assert_eq!(listed["sessions"][0]["status"], "pending", "{listed}");
        let out = w.run(&["--json", "wait", "--timeout", "0", &id]);
        expect(&out, 124);
        let out = w.run(&["--json", "doctor", "--fix"]);
        assert_eq!(json_of(&out)["problems"], json!([]), "{}", stdout(&out));
    }
    assert!(w.meta(&id)["turns"][1]["ending"].is_null());
    assert_eq!(w.agent.calls(), 1, "no agent started yet");
    signal(pid, libc::SIGCONT);
    let out = launcher.wait_with_output().unwrap();
    expect(&out, 0);
    expect(&w.run(&["wait", "--timeout", "60s", &id]), 0);
    assert_eq!(
        endings(&w.meta(&id)),
        [
            ("completed".into(), "supervisor".into()),
            ("completed".into(), "supervisor".into())
        ]
    );
    eprintln!(
        "races: a launch held stopped through {rounds} rounds of show, list, wait and doctor \
         --fix was never settled; continued, it completed ({:.1}s)",
        t0.elapsed().as_secs_f64()
    );
}

/// A session whose agent hangs; returns its id once the agent runs.
fn start_hanging(w: &World) -> String {
    let k = w.agent.calls() + 1;
    w.agent.turn(k, transcript("codex_sigterm.jsonl")).hang(k);
    let id = w.start(&["the task"]);
    w.agent.wait_hanging(k, STARTED);
    id
}

fn turn_pids(w: &World, id: &str) -> (i32, i32) {
    let m = w.meta(id);
    let t = &m["turns"].as_array().unwrap().last().unwrap().clone();
    (
        t["supervisor"]["pid"].as_i64().unwrap() as i32,
        t["agent"]["pid"].as_i64().unwrap() as i32,
    )
}

/// `kill` of a session whose supervisor is stopped (SIGSTOP): the agent's
/// group is signalled directly, the supervisor continued; `kill` says
/// "killed" only once the agent is gone, and the ending is `killed`.
#[test]
fn kill_with_a_stopped_supervisor_stops_the_agent_before_saying_so() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let n = rounds_or(5);
    let t0 = Instant::now();
    for _ in 0..n {
        let id = start_hanging(&w);
        let (sup, agent) = turn_pids(&w, &id);
        signal(sup, libc::SIGSTOP);
        eventually("the supervisor to stop", STARTED, || {
            proc_state(sup).is_some_and(|(s, _)| s == 'T')
        });
        let t = Instant::now();
        let out = w.run(&["--json", "kill", &id]);
        expect(&out, 0);
        let doc = json_of(&out);
        assert_eq!(
            doc["results"][0],
            json!({"id": id, "ok": true, "status": "killed", "error": null,
                   "agent_stopped": true, "ending_recorded": true})
        );
        assert!(!alive(agent), "kill said killed, the agent {agent} lives");
        assert!(t.elapsed() < Duration::from_secs(12), "{:?}", t.elapsed());
        eventually("the supervisor to finish", STARTED, || !alive(sup));
        let meta = w.meta(&id);
        assert_eq!(meta["status"], "killed", "{meta}");
        assert_eq!(meta["turns"][0]["ending"], "killed", "{meta}");
    }
    eprintln!(
        "races: {n} kills of sessions whose supervisor was stopped: each agent gone before \
         `kill` answered, each turn recorded killed ({:.1}s)",
        t0.elapsed().as_secs_f64()
    );
}

/// A tmpfs mounted over the store, where this process may mount.
struct SmallDisk {
    at: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        let target = std::ffi::CString::new(at.to_str()?).ok()?;
        let opts = std::ffi::CString::new(format!("size={size}")).ok()?;
        // SAFETY: mount with valid C strings.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                opts.as_ptr().cast(),
            )
        };
        (rc == 0).then(|| SmallDisk {
            at: at.to_path_buf(),
        })
    }

    /// A read-only view of the store laid over it (a bind mount remounted
    /// read-only): files already open stay writable, as they would across
    /// an `mount -o remount,ro` of a disk found failing, but nothing can be
    /// opened for writing or created until the view is taken away.
    fn read_only(&self) -> ReadOnly {
        let target = std::ffi::CString::new(self.at.to_str().unwrap()).unwrap();
        // SAFETY: bind mounts of our own tmpfs onto itself.
        unsafe {
            let rc = libc::mount(
                target.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            );
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            let rc = libc::mount(
                std::ptr::null(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                std::ptr::null(),
            );
            assert_eq!(rc, 0, "remount ro: {}", std::io::Error::last_os_error());
        }
        ReadOnly { target }
    }
}

struct ReadOnly {
    target: std::ffi::CString,
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        // SAFETY: unmounting the view laid over our own tmpfs.
        unsafe { libc::umount2(self.target.as_ptr(), libc::MNT_DETACH) };
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let target = std::ffi::CString::new(self.at.to_str().unwrap()).unwrap();
        // SAFETY: unmounting our own tmpfs.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// An agent that, once told to (a file `go` beside it: `start` returns
/// only once the turn is recorded running), fills its output until the disk
/// is full, says so in a file outside the store, then runs until killed.
fn disk_filler(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("filler");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ ! -f '{go}' ]; do sleep 0.01; done\n\
             yes '{{\"type\":\"noise\"}}' 2>/dev/null\n: > '{full}'\nexec sleep 600\n",
            go = dir.join("go").display(),
            full = dir.join("full").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The agent fills the disk the store is on; then the store is remounted
/// read-only: `kill` stops the agent all the same, says it could not record
/// the ending (exit 1), readers keep working, and once the store can be
/// written the supervisor, which saw the kill, records `killed`.
#[test]
fn kill_stops_the_agent_that_filled_the_disk_and_the_kill_is_recorded_later() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let Some(disk) = SmallDisk::mount(w.state.path(), "2m") else {
        panic!(
            "this test needs to mount a tmpfs (run as root, or in a user and mount namespace): {}",
            std::io::Error::last_os_error()
        );
    };
    let bin = support::agents::target_tempdir("filler-");
    let filler = disk_filler(bin.path());
    let run = |args: &[&str]| w.cmd_with(&filler, args).output().unwrap();
    let t0 = Instant::now();
    for read_only in [false, true] {
        let _ = std::fs::remove_file(bin.path().join("full"));
        let _ = std::fs::remove_file(bin.path().join("go"));
        let out = run(&["start", "fill the disk"]);
        expect(&out, 0);
        let id = stdout(&out).trim().to_string();
        std::fs::write(bin.path().join("go"), b"").unwrap();
        eventually("the disk to fill", STARTED, || {
            bin.path().join("full").exists()
        });
        let view = read_only.then(|| disk.read_only());
        let (sup, agent) = turn_pids(&w, &id);
        let listed = json_of(&run(&["--json", "list"]));
        assert_eq!(listed["problems"], json!([]), "{listed}");
        assert_eq!(listed["sessions"][0]["status"], "running", "{listed}");

        let out = run(&["--json", "kill", &id]);
        expect(&out, 1);
        let r = &json_of(&out)["results"][0];
        assert_eq!(r["agent_stopped"], true, "{r}");
        assert_eq!(r["ending_recorded"], false, "{r}");
        assert_eq!(r["status"], "killed", "{r}");
        let why = if read_only {
            "Read-only file system"
        } else {
            "No space left on device"
        };
        assert!(r["error"].as_str().unwrap().contains(why), "{r}");
        assert!(!alive(agent), "the agent that filled the disk still runs");
        assert!(alive(sup), "the supervisor keeps trying to record");
        // Human form: one line, exit 1.
        let human = run(&["kill", &id]);
        assert!(human.status.code() == Some(1), "{}", stderr(&human));

        // Room again: the supervisor records the kill it saw.
        drop(view);
        std::fs::remove_file(w.session_dir(&id).join("turns/turn_1.jsonl")).unwrap();
        eventually(
            "the supervisor to record the kill",
            Duration::from_secs(90),
            || !alive(sup),
        );
        let meta = w.meta(&id);
        assert_eq!(meta["status"], "killed", "{meta}");
        assert_eq!(meta["turns"][0]["ending"], "killed", "{meta}");
        assert_eq!(meta["turns"][0]["settled_by"], "supervisor", "{meta}");
    }
    eprintln!(
        "races: an agent filled a 2 MiB tmpfs; kill stopped it with the store full and then \
         read-only (exit 1, ending not recorded), and each supervisor recorded `killed` once the \
         store could be written ({:.1}s)",
        t0.elapsed().as_secs_f64()
    );
}

/// `rm --force` and `kill --all` on a full disk stop the agent too.
#[test]
fn rm_force_and_kill_all_stop_agents_on_a_full_disk() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let Some(_disk) = SmallDisk::mount(w.state.path(), "2m") else {
        panic!(
            "this test needs to mount a tmpfs: {}",
            std::io::Error::last_os_error()
        );
    };
    let bin = support::agents::target_tempdir("filler-");
    let filler = disk_filler(bin.path());
    let run = |args: &[&str]| w.cmd_with(&filler, args).output().unwrap();
    let out = run(&["start", "fill the disk"]);
    expect(&out, 0);
    let first = stdout(&out).trim().to_string();
    std::fs::write(bin.path().join("go"), b"").unwrap();
    eventually("the disk to fill", STARTED, || {
        bin.path().join("full").exists()
    });
    let (_, agent) = turn_pids(&w, &first);
    let out = run(&["--json", "kill", "--all"]);
    expect(&out, 1);
    assert_eq!(json_of(&out)["results"][0]["agent_stopped"], true);
    assert!(!alive(agent));
    // Removal frees the room; nothing is left to record into.
    let out = run(&["rm", "--force", &first]);
    expect(&out, 0);
    assert!(!w.session_dir(&first).exists());
    eprintln!("races: kill --all and rm --force stopped the agent that filled the disk");
}

/// A `sleep` of user `nobody`, leading its own session and process group.
fn strangers_process() -> Option<Child> {
    let child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "setsid",
            "sleep",
            "600",
        ])
        .stdin(Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id() as i32;
    eventually("setsid to lead its own session", STARTED, || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|t| {
                let rest = t[t.rfind(')')? + 1..].to_string();
                let f: Vec<String> = rest.split_whitespace().map(String::from).collect();
                Some(f[3] == pid.to_string() && f[2] == pid.to_string())
            })
            .unwrap_or(false)
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sleep")
    });
    Some(child)
}

/// A `meta.json` forged to name another user's process as a running turn's
/// agent and supervisor (pid and start time right), and a zwarm 2.3.5
/// session naming it as its agent: `kill` refuses, says why, and the
/// process lives.
#[test]
fn a_forged_pid_of_another_users_process_is_never_signalled() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "this test runs the stranger's process as user nobody, which needs root (setpriv)"
    );
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let mut stranger = strangers_process().expect("setpriv and setsid");
    let pid = stranger.id() as i32;
    let (_, start) = proc_state(pid).unwrap();
    let rec = json!({"pid": pid, "start_time": start});

    // A session of today's zwarm, its record pointed at the stranger.
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let forged = w.start(&["the task"]);
    w.wait(&forged);
    edit_meta(&w, &forged, |m| {
        m["status"] = json!("running");
        m["pid"] = json!(pid);
        let t = &mut m["turns"][0];
        for k in ["ended_at", "ending", "exit", "error", "settled_by"] {
            t.as_object_mut().unwrap().remove(k);
        }
        t["supervisor"] = rec.clone();
        t["agent"] = rec.clone();
    });
    // It reads as running: the recorded agent is alive.
    assert_eq!(w.json(&["show", &forged])["status"], "running");
    let out = w.run(&["kill", &forged]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(
        err.contains(&format!("refusing to signal process {pid}")),
        "{err}"
    );
    assert!(alive(pid), "the stranger was signalled");
    let out = w.run(&["--json", "doctor", "--fix"]);
    assert!(
        !stdout(&out).contains("stopped process"),
        "{}",
        stdout(&out)
    );
    assert!(alive(pid), "doctor signalled the stranger");

    // A zwarm 2.3.5 session (no turn records) whose pid is the stranger,
    // written while it ran: everything 2.3.5 promised of its agent holds,
    // but the process is another user's.
    let legacy = w.start(&["the task"]);
    w.wait(&legacy);
    edit_meta(&w, &legacy, |m| {
        let obj = m.as_object_mut().unwrap();
        obj.remove("turns");
        obj.remove("agent_session_id");
        m["status"] = json!("running");
        m["pid"] = json!(pid);
        m["created_at"] = json!(local_time_ago(Duration::from_secs(30)));
        m["updated_at"] = json!(local_time_ago(Duration::ZERO));
    });
    let out = w.run(&["kill", &legacy]);
    expect(&out, 1);
    let err = error_of(&out);
    assert!(err.contains("belongs to another user"), "{err}");
    assert!(alive(pid), "the stranger was signalled");
    let _ = stranger.kill();
    let _ = stranger.wait();
    eprintln!(
        "races: a forged meta.json and a 2.3.5 session naming another user's process: \
         refused by kill, left alone by doctor --fix, the process untouched"
    );
}

/// A recorded agent pid that is alive but carries no mark of the session
/// (a process of this user that zwarm did not start) is refused as well.
#[test]
fn an_unmarked_process_of_this_user_is_never_signalled() {
    let w = World::new();
    let _stop = w.stop_all_on_drop();
    let mut stranger = Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = stranger.id() as i32;
    let (_, start) = proc_state(pid).unwrap();
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let id = w.start(&["the task"]);
    w.wait(&id);
    edit_meta(&w, &id, |m| {
        m["status"] = json!("running");
        let t = &mut m["turns"][0];
        for k in ["ended_at", "ending", "exit", "error", "settled_by"] {
            t.as_object_mut().unwrap().remove(k);
        }
        t["agent"] = json!({"pid": pid, "start_time": start});
    });
    let out = w.run(&["kill", &id]);
    expect(&out, 1);
    assert!(
        error_of(&out).contains("does not carry ZWARM_SESSION_ID"),
        "{}",
        error_of(&out)
    );
    assert!(alive(pid));
    let _ = stranger.kill();
    let _ = stranger.wait();
}
