//! One verb on a host: `ssh` runs a fixed command line there (`<zwarm>
//! remote-exec`), and the verb's real arguments travel on its stdin as
//! JSON, so no word of them ever meets the remote user's shell.
//!
//! ssh never prompts (`BatchMode=yes`, placed before any other option: ssh
//! keeps the first value it is given) and shares one connection per host
//! (`ControlMaster=auto`, its socket in a private runtime folder,
//! `ControlPersist`), so the verbs after the first cost no handshake.

use super::split::split;
use super::{Host, HostError};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What the far side runs: zwarm's argv after the program name, and the
/// width to lay tables out in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Request {
    pub argv: Vec<String>,
    #[serde(default)]
    pub columns: Option<u16>,
}

/// How the verb ended there: its exit status and what it printed.
#[derive(Debug)]
pub(crate) struct Reply {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The exit status ssh gives for its own failures.
const SSH_FAILED: i32 = 255;
/// A shell's "command not found" and "not executable".
const NOT_FOUND: i32 = 127;
const NOT_EXECUTABLE: i32 = 126;

/// Whether `program` can stand as one word in any shell's command line:
/// it is the one word zwarm sends that the remote user's shell parses.
pub(crate) fn check_program(program: &str) -> Result<(), String> {
    let plain = program
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'+' | b'~'));
    if program.is_empty() || !plain || program.starts_with('-') {
        return Err(format!(
            "'{}' cannot be the zwarm program of a remote: use a path of letters, digits and / . _ - + ~",
            program.escape_debug()
        ));
    }
    Ok(())
}

/// Whether `target` can be given to ssh as its destination.
pub(crate) fn check_target(target: &str) -> Result<(), String> {
    if target.is_empty() || target.starts_with('-') || target.chars().any(char::is_whitespace) {
        return Err(format!(
            "'{}' cannot be an SSH target: give user@host, an alias or ssh://user@host:port",
            target.escape_debug()
        ));
    }
    Ok(())
}

/// The argv of the ssh that runs `remote-exec` on `host`: the program (and
/// its options) of `ZWARM_SSH_COMMAND`, else `ssh`.
pub(crate) fn ssh_argv(
    host: &Host,
    ssh_command: Option<&str>,
    control_dir: Option<&Path>,
) -> Result<Vec<String>, String> {
    let r = &host.remote;
    check_target(&r.target)?;
    check_program(&r.zwarm)?;
    let mut words = match ssh_command {
        Some(line) => split(line).map_err(|why| format!("ZWARM_SSH_COMMAND: {why}"))?,
        None => vec!["ssh".to_string()],
    };
    if words.is_empty() {
        return Err("ZWARM_SSH_COMMAND is empty".into());
    }
    let program = words.remove(0);
    let mut argv = vec![program, "-o".into(), "BatchMode=yes".into()];
    argv.append(&mut words);
    for o in &r.options {
        argv.push("-o".into());
        argv.push(o.clone());
    }
    match control_dir {
        Some(dir) => {
            argv.extend(["-o".into(), "ControlMaster=auto".into(), "-o".into()]);
            argv.push(format!("ControlPath={}/ssh-%C", dir.display()));
            argv.extend(["-o".into(), "ControlPersist=60".into()]);
        }
        None => argv.extend(["-o".into(), "ControlMaster=no".into()]),
    }
    argv.extend(
        [
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            // A link that dies without a word (a cable, a suspended laptop)
            // ends a `wait` or `watch` within a minute instead of never;
            // after the user's own options, so theirs win.
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
            "-T",
            "--",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    argv.push(r.target.clone());
    argv.push(r.zwarm.clone());
    argv.push("remote-exec".into());
    Ok(argv)
}

/// The longest socket path: `sun_path` holds 108 bytes with its NUL.
const MAX_SOCKET_PATH: usize = 107;
/// What ssh puts after the folder: `/ssh-` and `%C` (40 hex digits), and
/// while the master starts, a dot and 16 characters of a temporary name.
const SOCKET_NAME_LEN: usize = 5 + 40 + 17;

/// The private folder of connection sockets: `$XDG_RUNTIME_DIR/zwarm`, else
/// (or where that is too deep for a socket's name) `zwarm-<uid>` in the
/// temporary folder; None (no sharing) if none can be made this user's
/// alone.
fn control_dir() -> Option<PathBuf> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map(|b| b.join("zwarm"));
    let tmp = std::env::temp_dir().join(format!("zwarm-{uid}"));
    runtime
        .into_iter()
        .chain([tmp])
        .filter(|d| d.as_os_str().len() + SOCKET_NAME_LEN <= MAX_SOCKET_PATH)
        .find(|d| private_dir(d, uid))
}

/// Whether `dir` is (made if missing) a folder, not a link, of `uid`'s
/// that nobody else may enter.
fn private_dir(dir: &Path, uid: u32) -> bool {
    use std::os::unix::fs::DirBuilderExt;
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    let Ok(st) = crate::dir::Dir::open_no_link(dir).and_then(|d| d.stat_self()) else {
        return false;
    };
    st.st_uid == uid && st.st_mode & 0o077 == 0
}

/// Runs `request` on `host` and hands back what the verb did there, or
/// what kept it from running, said with the host's name.
pub(crate) fn run(host: &Host, request: &Request) -> Result<Reply, HostError> {
    let mut stdout = Vec::new();
    let mut reply = run_streaming(host, request, |chunk| {
        stdout.extend_from_slice(chunk);
        true
    })?;
    reply.stdout = stdout;
    Ok(reply)
}

/// [`run`], with what the verb prints handed to `sink` as it comes (for
/// `watch`) instead of kept; `sink` returns false when nobody reads any
/// more (a closed pipe), which ends the command. The reply's `stdout` is
/// empty.
pub(crate) fn run_streaming(
    host: &Host,
    request: &Request,
    mut sink: impl FnMut(&[u8]) -> bool,
) -> Result<Reply, HostError> {
    let ssh_command = std::env::var("ZWARM_SSH_COMMAND").ok();
    let argv =
        ssh_argv(host, ssh_command.as_deref(), control_dir().as_deref()).map_err(|detail| {
            HostError::Unreachable {
                host: host.name.clone(),
                detail,
            }
        })?;
    let body = serde_json::to_vec(request).map_err(|e| HostError::BadReply {
        host: host.name.clone(),
        detail: e.to_string(),
    })?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to end
    // this ssh with its parent, so a host given up on dies with zwarm.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let spawn_error = |source| HostError::Spawn {
        host: host.name.clone(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_error)?;
    let mut stdin = child.stdin.take();
    // The request is small, but written beside the reads all the same: a
    // reply large enough to fill the pipe must not stall the write.
    let writer = std::thread::spawn(move || {
        if let Some(mut s) = stdin.take() {
            let _ = s.write_all(&body);
        }
    });
    let mut err_pipe = child.stderr.take();
    let errs = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(e) = err_pipe.as_mut() {
            let _ = e.read_to_end(&mut buf);
        }
        buf
    });
    if let Some(mut out) = child.stdout.take() {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match out.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if !sink(&buf[..n]) {
                        let _ = child.kill();
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    let status = child.wait().map_err(spawn_error)?;
    let _ = writer.join();
    let stderr = errs.join().unwrap_or_default();
    classify(host, status.code(), Vec::new(), stderr)
}

/// What an ssh that ended with `code` means: the verb's own ending, or a
/// failure of the link, named.
fn classify(
    host: &Host,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
) -> Result<Reply, HostError> {
    let text = String::from_utf8_lossy(&stderr);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("ssh gave no reason")
        .trim()
        .to_string();
    let name = host.name.clone();
    match code {
        None => Err(HostError::Cut {
            host: name,
            detail: "ssh was killed".into(),
        }),
        Some(SSH_FAILED) => {
            let has = |s: &str| text.contains(s);
            if has("Permission denied")
                || has("Too many authentication failures")
                || has("Host key verification failed")
            {
                Err(HostError::AuthRefused {
                    host: name,
                    detail: last,
                })
            } else if text.trim().is_empty() {
                // Every failure to connect or to log in is said at
                // LogLevel=ERROR; what ssh ends on silently is a server
                // that stopped answering its keepalives mid-command.
                Err(HostError::Cut {
                    host: name,
                    detail: "the host stopped answering".into(),
                })
            } else if has("closed by remote host")
                || has("Broken pipe")
                || has("Connection reset")
                || has("Timeout, server")
                || has("disconnect")
            {
                Err(HostError::Cut {
                    host: name,
                    detail: last,
                })
            } else {
                Err(HostError::Unreachable {
                    host: name,
                    detail: last,
                })
            }
        }
        Some(NOT_FOUND | NOT_EXECUTABLE) => Err(HostError::ZwarmMissing {
            host: name,
            program: host.remote.zwarm.clone(),
            detail: (!text.trim().is_empty()).then_some(last),
        }),
        Some(code) => Ok(Reply {
            code,
            stdout,
            stderr: without_mux_notes(stderr),
        }),
    }
}

/// The remote command's stderr without what ssh itself said of connection
/// sharing: two commands to one host at once both try to be its master,
/// and the second says it goes without; that is no news to anyone.
fn without_mux_notes(stderr: Vec<u8>) -> Vec<u8> {
    let is_note =
        |l: &[u8]| l.starts_with(b"ControlSocket ") && l.ends_with(b"disabling multiplexing");
    if !stderr
        .split(|&b| b == b'\n')
        .any(|l| is_note(l.strip_suffix(b"\r").unwrap_or(l)))
    {
        return stderr;
    }
    let mut out = Vec::with_capacity(stderr.len());
    for line in stderr.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        if !is_note(bare.strip_suffix(b"\r").unwrap_or(bare)) {
            out.extend_from_slice(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(target: &str, zwarm: &str) -> Host {
        let mut h = Host::b1(target);
        h.remote.zwarm = zwarm.into();
        h.remote.options = vec!["Port=2222".into()];
        h
    }

    #[test]
    fn the_remote_command_line_is_fixed_words() {
        let argv = ssh_argv(&host("me@b1", "zwarm"), None, Some(Path::new("/run/z"))).unwrap();
        assert_eq!(&argv[..3], ["ssh", "-o", "BatchMode=yes"]);
        assert!(argv.contains(&"Port=2222".to_string()));
        assert!(argv.contains(&"ControlPath=/run/z/ssh-%C".to_string()));
        assert_eq!(
            &argv[argv.len() - 4..],
            ["--", "me@b1", "zwarm", "remote-exec"]
        );
    }

    #[test]
    fn a_silent_link_is_noticed_unless_the_user_says_otherwise() {
        let mut h = host("b1", "zwarm");
        h.remote.options.push("ServerAliveInterval=5".into());
        let argv = ssh_argv(&h, None, None).unwrap();
        let at = |o: &str| argv.iter().position(|a| a == o);
        let theirs = at("ServerAliveInterval=5").unwrap();
        let ours = at("ServerAliveInterval=15").unwrap();
        // ssh keeps the first value it is given.
        assert!(theirs < ours, "{argv:?}");
        assert!(at("ServerAliveCountMax=4").is_some_and(|i| i < argv.len() - 4));
    }

    #[test]
    fn batch_mode_comes_before_the_commands_own_options() {
        let argv = ssh_argv(
            &host("b1", "/opt/zwarm"),
            Some("ssh -o BatchMode=no -i 'my key'"),
            None,
        )
        .unwrap();
        assert_eq!(
            &argv[..7],
            [
                "ssh",
                "-o",
                "BatchMode=yes",
                "-o",
                "BatchMode=no",
                "-i",
                "my key"
            ]
        );
        assert!(argv.contains(&"ControlMaster=no".to_string()));
    }

    #[test]
    fn targets_and_programs_that_a_shell_or_ssh_would_read_otherwise_are_refused() {
        for bad in ["-oProxyCommand=x", "", "a b"] {
            assert!(ssh_argv(&host(bad, "zwarm"), None, None).is_err(), "{bad}");
        }
        for bad in ["zwarm;id", "$(id)", "z warm", "-x", "`id`", ""] {
            assert!(ssh_argv(&host("b1", bad), None, None).is_err(), "{bad}");
        }
        assert!(ssh_argv(&host("b1", "~/bin/zwarm"), None, None).is_ok());
    }

    #[test]
    fn ssh_failures_are_told_apart() {
        let h = host("b1", "zwarm");
        let c = |code, err: &str| classify(&h, Some(code), Vec::new(), err.as_bytes().to_vec());
        assert!(matches!(
            c(255, "me@b1: Permission denied (publickey)."),
            Err(HostError::AuthRefused { .. })
        ));
        assert!(matches!(
            c(255, "ssh: connect to host b1 port 22: Connection refused"),
            Err(HostError::Unreachable { .. })
        ));
        assert!(matches!(
            c(255, "Connection to b1 closed by remote host."),
            Err(HostError::Cut { .. })
        ));
        // Keepalives unanswered: ssh says nothing at LogLevel=ERROR.
        assert!(matches!(c(255, ""), Err(HostError::Cut { .. })));
        assert!(matches!(
            c(127, "sh: 1: zwarm: not found"),
            Err(HostError::ZwarmMissing { .. })
        ));
        assert_eq!(c(4, "").unwrap().code, 4);
        let mixed = "ControlSocket /run/z/ssh-ab already exists, disabling multiplexing\r\nzwarm: error: x\n";
        assert_eq!(c(3, mixed).unwrap().stderr, b"zwarm: error: x\n");
        let e = c(255, "ssh: connect to host b1 port 22: Connection refused").unwrap_err();
        assert_eq!(
            e.to_string(),
            "host b1 is unreachable: ssh: connect to host b1 port 22: Connection refused"
        );
    }
}
