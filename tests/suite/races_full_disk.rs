//! An agent that fills the disk the store is on, then the store remounted
//! read-only: `kill`, `kill --all` and `rm --force` stop it all the same,
//! and the kill is recorded once the store can be written.

use crate::support::agents::target_tempdir;
use crate::support::disk::SmallDisk;
use crate::support::output::{expect, json_of, stderr, stdout};
use crate::support::poll::eventually;
use crate::support::procs::alive;
use crate::support::world::World;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

const STARTED: Duration = Duration::from_secs(20);

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
    let Some(disk) = SmallDisk::mount(w.state.path(), "2m") else {
        panic!(
            "this test needs to mount a tmpfs (run as root, or in a user and mount namespace): {}",
            std::io::Error::last_os_error()
        );
    };
    let bin = target_tempdir("filler-");
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
        eventually(STARTED, "the disk to fill", || {
            bin.path().join("full").exists()
        });
        let view = read_only.then(|| disk.read_only());
        let (sup, agent) = w.turn_pids(&id);
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
        std::fs::remove_file(w.turn_file(&id, 1)).unwrap();
        eventually(
            Duration::from_secs(90),
            "the supervisor to record the kill",
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
    let Some(_disk) = SmallDisk::mount(w.state.path(), "2m") else {
        panic!(
            "this test needs to mount a tmpfs: {}",
            std::io::Error::last_os_error()
        );
    };
    let bin = target_tempdir("filler-");
    let filler = disk_filler(bin.path());
    let run = |args: &[&str]| w.cmd_with(&filler, args).output().unwrap();
    let out = run(&["start", "fill the disk"]);
    expect(&out, 0);
    let first = stdout(&out).trim().to_string();
    std::fs::write(bin.path().join("go"), b"").unwrap();
    eventually(STARTED, "the disk to fill", || {
        bin.path().join("full").exists()
    });
    let (_, agent) = w.turn_pids(&first);
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
