//! A real OpenSSH server on a loopback port, standing for a remote host:
//! a throwaway host key, one authorized key, the current user, and a store
//! of its own ([`SshHost::far`], a [`World`] with the fake agent).
//!
//! Every command line that reaches it is parsed by `dash` (a
//! `ForceCommand` hands `$SSH_ORIGINAL_COMMAND` to `dash -c`), whatever
//! the user's login shell is. The far side's zwarm is a wrapper that gives
//! it the far world's agent and state home, then runs the built binary.
//!
//! [`SshHost::cmd`] runs a local zwarm (in [`SshHost::near`]) that reaches
//! it: its own config, cache and runtime folders, and `ZWARM_SSH_COMMAND`
//! with the key, port and known hosts. `sshd` and `ssh` must be installed
//! (`scripts/test.sh` installs them); without them the tests fail.

use super::agents::{state_home, target_tempdir};
use super::files::set_executable;
use super::output::Ran;
use super::poll::eventually;
use super::world::World;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

pub struct SshHost {
    dir: TempDir,
    /// `XDG_RUNTIME_DIR`: short, for the connection sockets' names.
    runtime: TempDir,
    port: u16,
    sshd: Option<Child>,
    /// The remote side: its store and its fake agent.
    pub far: World,
    /// The local side: its store and the folders of its user.
    pub near: World,
}

fn program(name: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/bin",
        "/usr/local/sbin",
    ] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is missing: the remote tests need OpenSSH (scripts/test.sh installs openssh-server and openssh-client)");
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(out.stdout)
        .expect("a user name")
        .trim()
        .to_string()
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("its address").port()
}

impl SshHost {
    /// sshd started and answering on 127.0.0.1.
    pub fn start() -> SshHost {
        let sshd = program("sshd");
        let keygen = program("ssh-keygen");
        program("ssh");
        program("dash");
        let dir = target_tempdir("sshd-");
        let d = dir.path();
        for key in ["host_key", "user_key"] {
            run(Command::new(&keygen)
                .args(["-q", "-t", "ed25519", "-N", ""])
                .arg("-f")
                .arg(d.join(key)));
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys"))
            .expect("authorize the key");
        // sshd insists on its privilege separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
             AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nStrictModes no\n\
             UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin yes\nAllowUsers {user}\nForceCommand /bin/dash -c \"$SSH_ORIGINAL_COMMAND\"\n",
            d = d.display(),
            user = current_user(),
        );
        std::fs::write(d.join("sshd_config"), config).expect("write sshd_config");
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).expect("host key");
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_key}"),
        )
        .expect("write known_hosts");
        let far = World::new();
        let wrapper = format!(
            "#!/bin/sh\nexport ZWARM_CODEX_BIN='{a}' ZWARM_CLAUDE_BIN='{a}' XDG_STATE_HOME='{s}' NO_COLOR=1\n\
             exec '{z}' \"$@\"\n",
            a = far.agent.program().display(),
            s = state_home().display(),
            z = env!("CARGO_BIN_EXE_zwarm"),
        );
        std::fs::write(d.join("zwarm"), wrapper).expect("write the remote zwarm");
        set_executable(&d.join("zwarm"));
        for sub in ["config", "cache"] {
            std::fs::create_dir(d.join(sub)).expect("a folder of the local user");
        }
        let runtime = tempfile::Builder::new()
            .prefix("zr")
            .tempdir_in("/tmp")
            .expect("a runtime folder");
        let mut host = SshHost {
            dir,
            runtime,
            port,
            sshd: None,
            far,
            near: World::new(),
        };
        host.sshd = Some(
            Command::new(sshd)
                .arg("-f")
                .arg(host.dir.path().join("sshd_config"))
                .args(["-D", "-e"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(host.dir.path().join("sshd.log")).expect("log"))
                .spawn()
                .expect("start sshd"),
        );
        eventually(Duration::from_secs(10), "sshd listening", || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        host
    }

    /// The far side's zwarm, as `remote add --zwarm` takes it.
    pub fn zwarm(&self) -> String {
        self.dir.path().join("zwarm").display().to_string()
    }

    /// The far side's store, as `remote add --remote-dir` takes it.
    pub fn store(&self) -> String {
        self.far.state.path().display().to_string()
    }

    /// A folder of this host's own, for scripts a test writes.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `ssh` with this host's key, port and known hosts, for
    /// `ZWARM_SSH_COMMAND`.
    pub fn ssh_command(&self) -> String {
        let d = self.dir.path().display();
        format!(
            "ssh -F none -i {d}/user_key -p {} -o UserKnownHostsFile={d}/known_hosts \
             -o StrictHostKeyChecking=yes -o ControlPersist=no",
            self.port
        )
    }

    /// A local zwarm (the near world's store) that reaches this host.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut cmd = self.near.cmd(args);
        cmd.env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_CACHE_HOME", d.join("cache"))
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("ZWARM_SSH_COMMAND", self.ssh_command());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        Ran::of(args, self.cmd(args).output().expect("run zwarm"))
    }

    /// `remote add NAME 127.0.0.1 --zwarm <far zwarm> --remote-dir <far
    /// store> --workdir <far work dir>`, which must succeed.
    pub fn add(&self, name: &str) {
        self.add_with(name, &[]);
    }

    /// [`SshHost::add`] with more of `remote add`'s arguments (`-o ...`).
    pub fn add_with(&self, name: &str, more: &[&str]) {
        let zwarm = self.zwarm();
        let store = self.store();
        let work = self.far.work.path().display().to_string();
        let mut args = vec![
            "remote",
            "add",
            name,
            "127.0.0.1",
            "--zwarm",
            &zwarm,
            "--remote-dir",
            &store,
            "--workdir",
            &work,
        ];
        args.extend_from_slice(more);
        self.run(&args)
            .expect(0, super::output::has("added remote"), "");
    }

    /// Adds the remote `name`: this host, reached through a proxy that
    /// sleeps `secs`, so that ssh never answers in time. `remote add`
    /// checks the host, so the proxy is put in `remotes.toml` afterwards.
    pub fn add_hanging(&self, name: &str, secs: u32) {
        self.add(name);
        let cfg = self.dir.path().join("config/zwarm/remotes.toml");
        let text = std::fs::read_to_string(&cfg).expect("remotes.toml");
        let table = format!("[remotes.{name}]");
        assert!(text.contains(&table), "{text}");
        std::fs::write(
            &cfg,
            text.replace(
                &table,
                &format!("{table}\noptions = [\"ProxyCommand=sleep {secs}\"]"),
            ),
        )
        .expect("write remotes.toml");
    }

    /// Cuts every connection sshd holds (its processes serving them die at
    /// once, as on a link that went down); sshd itself goes on listening.
    /// Returns how many processes were killed.
    pub fn cut(&self) -> usize {
        let pids = self.connections();
        for &pid in &pids {
            super::procs::sigkill(pid);
        }
        pids.len()
    }

    /// Freezes every connection sshd holds (SIGSTOP): nothing is closed,
    /// nothing answers, as on a link that went silent. Returns the frozen
    /// processes, for [`SshHost::thaw`].
    pub fn freeze(&self) -> Vec<i32> {
        let pids = self.connections();
        for &pid in &pids {
            super::procs::signal(pid, libc::SIGSTOP);
        }
        pids
    }

    /// Lets frozen connections run again.
    pub fn thaw(&self, pids: &[i32]) {
        for &pid in pids {
            super::procs::signal(pid, libc::SIGCONT);
        }
    }

    /// The processes of sshd serving connections: the listener's
    /// descendants (up to three levels) that are sshd.
    fn connections(&self) -> Vec<i32> {
        let Some(listener) = self.sshd.as_ref().map(|c| c.id() as i32) else {
            return Vec::new();
        };
        let parent_of = |pid: i32| -> Option<i32> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 2..];
            after.split(' ').nth(1)?.parse().ok()
        };
        // `sshd-session` on OpenSSH 9.8 and later.
        let is_sshd = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim().starts_with("sshd"))
        };
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let mut up = parent_of(pid);
            let mut depth = 0;
            while let Some(p) = up.filter(|&p| p > 1 && depth < 3) {
                if p == listener && is_sshd(pid) {
                    found.push(pid);
                    break;
                }
                up = parent_of(p);
                depth += 1;
            }
        }
        found
    }

    /// Stops sshd: the host no longer answers.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.sshd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        // A test that failed between `freeze` and `thaw` must not leave
        // stopped connections behind.
        for pid in self.connections() {
            super::procs::signal(pid, libc::SIGCONT);
            super::procs::sigkill(pid);
        }
        self.stop();
    }
}
