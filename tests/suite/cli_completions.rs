//! Shell completion scripts.

use crate::support::output::{expect, stdout};
use crate::support::world::World;

#[test]
fn exit_codes_completions() {
    let w = World::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = w.run(&["completions", shell]);
        expect(&out, 0);
        assert!(stdout(&out).contains("zwarm"));
    }
    expect(&w.run(&["completions", "cmd.exe"]), 2);
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let w = World::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef zwarm"),
        ("fish", "complete -c zwarm"),
    ] {
        let script = w.ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {marker}");
        for sub in [
            "start",
            "list",
            "show",
            "inject",
            "kill",
            "rm",
            "trajectory",
            "watch",
            "wait",
            "clean",
            "top",
            "completions",
            "remote",
            "version",
        ] {
            assert!(script.contains(sub), "{shell} completes `{sub}`");
        }
        for word in [
            "--agent-arg",
            "qwen",
            "all-hosts",
            "host-timeout",
            "remote-dir",
        ] {
            assert!(script.contains(word), "{shell} completes `{word}`");
        }
        assert!(
            !script.contains("__supervise") && !script.contains("remote-exec"),
            "{shell}: the internal commands are not offered"
        );
        if shell == "bash" {
            let path = w.work.path().join("zwarm.bash");
            std::fs::write(&path, &script).unwrap();
            let check = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output()
                .expect("run bash -n");
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let out = w.run(&["completions", "tcsh-ish"]);
    assert_eq!(out.status.code(), Some(2));
}
