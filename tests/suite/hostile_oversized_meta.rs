//! A `meta.json` of 4 GB (sparse) is never read whole: every reader refuses
//! it at once with a small resident set.

use crate::support::output::{
    doctor_kinds, doctor_problem, error_of, expect, json_of, listed_ids, stderr, stdout,
};
use crate::support::world::World;
use serde_json::Value;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// A sparse 4 GB `meta.json` beside normal sessions: `list` lists the
/// others and reports that one, staying under 50 MiB of memory and well
/// under a second; `show` says it is larger than zwarm reads; `doctor`
/// reports it as unreadable_meta and `doctor --fix` leaves it in place.
#[test]
fn a_sparse_4_gb_meta_json_is_never_read() {
    let w = World::new();
    let others: Vec<String> = (0..3).map(|_| w.completed(&[])).collect();
    let id = w.completed(&[]);
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
            let list = json_of(&out);
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
    let doc = json_of(&out);
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
