//! Snapshots of what people read: `list`, `show`, `trajectory` and `watch`
//! (of a finished session, so it returns) over sessions a fake agent ran
//! from recorded transcripts, without colour. Session ids, times,
//! durations and temporary paths vary from run to run and are replaced by
//! placeholders; everything else must match `snapshots/` exactly. After a
//! deliberate change of the output, review the new snapshots with
//! `cargo insta review` (or run with `INSTA_UPDATE=always`) and commit them.

use crate::support::fake::transcript;
use crate::support::output::{Ran, ANY, EMPTY};
use crate::support::world::World;

/// The sessions: a codex turn that ran a command, one that failed, a claude
/// session of two turns, and a codex turn with every kind of step.
struct Sessions {
    w: World,
    done: String,
    failed: String,
    claude: String,
    rich: String,
}

fn sessions() -> Sessions {
    let w = World::new();
    w.agent
        .turn(1, transcript("codex_first_turn.jsonl"))
        .turn(2, transcript("codex_failed.jsonl"))
        .exit(2, 1)
        .turn(3, transcript("claude_first_turn.jsonl"))
        .turn(4, transcript("claude_resume.jsonl"))
        .turn(5, transcript("codex_rich.jsonl"));
    let done = w.start(&["fix the failing test"]);
    assert_eq!(w.wait(&done), 0);
    let failed = w.start(&["-m", "gpt-5.5", "add a --verbose flag"]);
    assert_eq!(w.wait(&failed), 4);
    let claude = w.start(&["-a", "claude", "-m", "sonnet", "say hello"]);
    assert_eq!(w.wait(&claude), 0);
    w.ok(&["inject", &claude, "and again"]);
    assert_eq!(w.wait(&claude), 0);
    let rich = w.start(&["-s", "read-only", "look around the repository"]);
    assert_eq!(w.wait(&rich), 0);
    Sessions {
        w,
        done,
        failed,
        claude,
        rich,
    }
}

impl Sessions {
    /// `zwarm --color never args...` at a fixed width, which must succeed
    /// with nothing on stderr; its stdout.
    fn human(&self, args: &[&str]) -> String {
        let mut all = vec!["--color", "never"];
        all.extend_from_slice(args);
        let out = self
            .w
            .cmd(&all)
            .env("COLUMNS", "120")
            .output()
            .expect("run zwarm");
        Ran::of(&all, out).expect(0, ANY, EMPTY).stdout()
    }

    /// The settings that replace what varies from run to run.
    fn settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_prepend_module_to_snapshot(false);
        let ids = [
            (&self.done, "done"),
            (&self.failed, "failed"),
            (&self.claude, "claude"),
            (&self.rich, "rich"),
        ];
        for (id, name) in ids {
            s.add_filter(&regex_escape(id), format!("[{name}-id]"));
        }
        // As wide as a short id, so that columns stay aligned.
        for (id, name) in ids {
            s.add_filter(&regex_escape(&id[..8]), format!("[{name:_<6}]"));
        }
        for (dir, name) in [(self.w.state.path(), "store"), (self.w.work.path(), "work")] {
            s.add_filter(
                &regex_escape(&dir.display().to_string()),
                format!("[{name}]"),
            );
            if let Ok(real) = dir.canonicalize() {
                s.add_filter(
                    &regex_escape(&real.display().to_string()),
                    format!("[{name}]"),
                );
            }
        }
        s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?", "[time]");
        // `show`: "age  5s ago", and a turn's "completed, exit 0, 5s, ...".
        let duration = r"\d+[smhd](\d{2}[smh])?";
        s.add_filter(&format!(r"(?m)^(age +){duration} ago$"), "${1}[age]");
        s.add_filter(
            &format!(r"(?m)^( +\d+  [a-z_]+, [^,\n]*), {duration}\b"),
            "${1}, [duration]",
        );
        // `list`: an age is right-aligned in its column, whose width it sets.
        s.add_filter(&format!(r" +{duration} ago"), "  [age]");
        s.add_filter(r"TURNS +AGE", "TURNS  AGE");
        s
    }
}

/// `s` with every character that means something in a regex escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[test]
fn list() {
    let s = sessions();
    let text = s.human(&["list"]);
    s.settings().bind(|| insta::assert_snapshot!("list", text));
}

#[test]
fn show() {
    let s = sessions();
    for (id, name) in [
        (&s.done, "show_completed"),
        (&s.failed, "show_failed"),
        (&s.claude, "show_claude_two_turns"),
    ] {
        let text = s.human(&["show", id]);
        s.settings().bind(|| insta::assert_snapshot!(name, text));
    }
}

#[test]
fn trajectory() {
    let s = sessions();
    for (id, name) in [
        (&s.rich, "trajectory_every_step"),
        (&s.claude, "trajectory_claude_two_turns"),
    ] {
        let text = s.human(&["trajectory", id]);
        s.settings().bind(|| insta::assert_snapshot!(name, text));
    }
    let text = s.human(&["trajectory", "--full", "--turn", "1", &s.claude]);
    s.settings()
        .bind(|| insta::assert_snapshot!("trajectory_full_turn", text));
}

#[test]
fn watch_of_a_finished_session() {
    let s = sessions();
    for (id, name) in [(&s.rich, "watch_completed"), (&s.done, "watch_command")] {
        let text = s.human(&["watch", id]);
        s.settings().bind(|| insta::assert_snapshot!(name, text));
    }
    // A failed turn: watch says so, and exits 4.
    let ran = s.w.run(&["--color", "never", "watch", &s.failed]);
    let text = ran.expect(4, ANY, EMPTY).stdout();
    s.settings()
        .bind(|| insta::assert_snapshot!("watch_failed", text));
}

#[test]
fn the_placeholders_hide_only_what_varies() {
    let s = sessions();
    let settings = s.settings();
    let text = format!(
        "{} {} {} 2026-01-02T03:04:05.678901 12s ago\nage   3m05s ago\n    1  completed, exit 0, 1h02m, 42 tokens\n    2  failed, exit 1, 7s",
        s.done,
        &s.failed[..8],
        s.w.work.path().display()
    );
    settings.bind(|| insta::assert_snapshot!("placeholders", text));
}
