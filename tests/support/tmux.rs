//! A real terminal for `zwarm top`: a tmux server of the test's own (its
//! own socket, no user configuration) running one command in a pane of a
//! fixed size, read back with `capture-pane` and typed into with
//! `send-keys`. tmux must be installed (`scripts/test.sh` installs it): a
//! test that needs it fails, never skips, without it.

use super::poll::eventually_every;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// `s` as one shell word.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A pane script that runs `cmd` (its program, arguments, environment and
/// folder), recording the terminal's settings before and after (in `dir`:
/// `before`, `after`), its pid (`pid`) and its exit status (`EXIT=`).
pub fn script_of(cmd: &Command, dir: &Path) -> String {
    let mut script = String::new();
    for (k, v) in cmd.get_envs() {
        let k = k.to_string_lossy();
        match v {
            Some(v) => script.push_str(&format!("export {k}={}\n", quoted(&v.to_string_lossy()))),
            None => script.push_str(&format!("unset {k}\n")),
        }
    }
    // tmux's own colour-free terminal: what a person at a plain one sees.
    script.push_str("unset NO_COLOR\n");
    let cwd = cmd.get_current_dir().expect("a working directory");
    script.push_str(&format!("cd {}\n", quoted(&cwd.to_string_lossy())));
    let d = |name: &str| quoted(&dir.join(name).to_string_lossy());
    let mut argv = vec![quoted(&cmd.get_program().to_string_lossy())];
    argv.extend(cmd.get_args().map(|a| quoted(&a.to_string_lossy())));
    script.push_str(&format!(
        "stty -g > {before}\n\
         sh -c 'echo $$ > \"$0\"; exec \"$@\"' {pid} {argv}\n\
         echo \"EXIT=$?\"\n\
         stty -g > {after}.tmp && mv {after}.tmp {after}\n\
         sleep 600\n",
        before = d("before"),
        after = d("after"),
        pid = d("pid"),
        argv = argv.join(" "),
    ));
    script
}

pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Runs the shell script `script` in a new pane of `width`×`height`.
    pub fn start(dir: &Path, script: &str, width: u16, height: u16) -> Tmux {
        let socket = dir.join("tmux.sock");
        let file = dir.join("pane.sh");
        std::fs::write(&file, script).expect("write the pane's script");
        let t = Tmux { socket };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "sh",
            file.to_str().expect("a UTF-8 path"),
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args);
        match cmd.output() {
            Ok(out) => out,
            Err(e) => panic!(
                "cannot run tmux ({e}): it is needed for this test; `bash scripts/test.sh` installs it"
            ),
        }
    }

    /// The pane's text, as a person sees it.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One of tmux's formats for the pane (`#{alternate_on}`, ...).
    pub fn format(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Keys by tmux's names (`j`, `Enter`, `Escape`, `Down`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// `text`, typed as it is.
    pub fn type_text(&self, text: &str) {
        assert!(self.tmux(&["send-keys", "-l", text]).status.success());
    }

    /// Waits until the screen satisfies `cond`; the screen then.
    #[track_caller]
    pub fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        eventually_every(
            Duration::from_millis(50),
            Duration::from_secs(15),
            what,
            || {
                let s = self.screen();
                if cond(&s) {
                    Ok(s)
                } else {
                    Err(s)
                }
            },
        )
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
