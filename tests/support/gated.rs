//! An agent whose turns end only when a test lets them: [`GatedAgent`]
//! logs each start and end with its session, then waits for its release,
//! so a test controls which running turn ends when, and reads from the log
//! the order turns started in and how many ran at once.

use super::poll::eventually;
use std::path::PathBuf;
use std::time::Duration;
use tempfile::TempDir;

const SCRIPT: &str = r#"#!/bin/sh
d='@DIR@'
s="$ZWARM_SESSION_ID"
echo "start $s" >> "$d/log"
[ -e "$d/auto" ] && sleep "$(cat "$d/auto")" && : > "$d/release-$s"
while [ ! -e "$d/release-$s" ]; do sleep 0.01; done
rm -f "$d/release-$s"
echo "end $s" >> "$d/log"
cat "$d/turn.jsonl"
code=$(cat "$d/exit-$s" 2>/dev/null || echo 0)
rm -f "$d/exit-$s"
exit "$code"
"#;

pub struct GatedAgent {
    dir: TempDir,
}

impl GatedAgent {
    /// Every turn prints `jsonl` once released.
    pub fn new(jsonl: &str) -> GatedAgent {
        let dir = super::agents::target_tempdir("gated-agent-");
        let script = dir.path().join("agent");
        std::fs::write(
            &script,
            SCRIPT.replace("@DIR@", &dir.path().display().to_string()),
        )
        .expect("write the gated agent");
        super::files::set_executable(&script);
        std::fs::write(dir.path().join("turn.jsonl"), jsonl).expect("write its turn");
        GatedAgent { dir }
    }

    /// Turns end by themselves after `seconds`.
    pub fn auto_release(&self, seconds: f64) -> &Self {
        std::fs::write(self.dir.path().join("auto"), seconds.to_string()).expect("write auto");
        self
    }

    pub fn program(&self) -> PathBuf {
        self.dir.path().join("agent")
    }

    /// Ends the running turn of `session`, exiting `code`.
    pub fn release(&self, session: &str, code: i32) {
        if code != 0 {
            std::fs::write(
                self.dir.path().join(format!("exit-{session}")),
                code.to_string(),
            )
            .expect("write the exit code");
        }
        std::fs::write(self.dir.path().join(format!("release-{session}")), b"")
            .expect("release a turn");
    }

    /// (event, session) in the order they happened.
    pub fn log(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(e, s)| (e.to_string(), s.to_string()))
            .collect()
    }

    /// The sessions whose turns started, in order.
    pub fn started(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|(e, _)| e == "start")
            .map(|(_, s)| s)
            .collect()
    }

    /// How many turns have started.
    pub fn starts(&self) -> usize {
        self.started().len()
    }

    /// The most turns that ran at once, by the log.
    pub fn most_at_once(&self) -> usize {
        let (mut now, mut most) = (0usize, 0usize);
        for (e, _) in self.log() {
            if e == "start" {
                now += 1;
                most = most.max(now);
            } else {
                now = now.saturating_sub(1);
            }
        }
        most
    }

    /// Waits until `n` turns have started.
    #[track_caller]
    pub fn wait_starts(&self, n: usize) {
        eventually(
            Duration::from_secs(20),
            &format!("{n} turns to start"),
            || self.starts() >= n,
        );
    }
}
