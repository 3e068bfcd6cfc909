//! zwarm 2.3.5's `session` commands, mapped onto today's.

use crate::cli::*;
use std::path::PathBuf;

/// The command `cmd` means today, and the state directory it names: the
/// global `--dir` if given, else the `.zwarm` of the project its `-d DIR`
/// named; None when neither was given (then the usual search decides).
pub(super) fn map(cmd: LegacyCommand, global_dir: Option<PathBuf>) -> (Command, Option<PathBuf>) {
    let dir = |project: Option<PathBuf>| global_dir.or_else(|| project.map(|p| p.join(".zwarm")));
    match cmd {
        LegacyCommand::Start {
            task,
            project,
            model,
            adapter,
        } => {
            let cd = project.clone();
            (
                Command::Start(StartArgs {
                    task: vec![task],
                    adapter,
                    model,
                    cd,
                    sandbox: None,
                    source: "user".into(),
                    worktree: None,
                    base: None,
                    setup: None,
                    commit_turns: false,
                    timeout: None,
                    on_end: None,
                    group: None,
                    max_running: None,
                    after: Vec::new(),
                    max_tokens: None,
                    max_cost: None,
                    no_snapshot: false,
                    agent_args: Vec::new(),
                }),
                dir(project),
            )
        }
        LegacyCommand::Ls { project, .. } => (
            Command::List(ListArgs {
                status: None,
                all_hosts: false,
                host_timeout: std::time::Duration::from_secs(5),
            }),
            dir(project),
        ),
        LegacyCommand::Show { id, project } => (Command::Show(IdArg { id }), dir(project)),
        LegacyCommand::Logs {
            id,
            project,
            turn,
            follow,
        } => {
            let c = if follow {
                Command::Watch(WatchArgs { id, full: false })
            } else {
                Command::Output(OutputArgs {
                    id,
                    turn,
                    stderr: false,
                })
            };
            (c, dir(project))
        }
        LegacyCommand::Inject {
            id,
            message,
            project,
        } => (
            Command::Inject(InjectArgs {
                id,
                message: vec![message],
                timeout: None,
                on_end: None,
                group: None,
                max_running: None,
                max_tokens: None,
                max_cost: None,
                agent_args: Vec::new(),
            }),
            dir(project),
        ),
        LegacyCommand::Kill { id, project } => (
            Command::Kill(KillArgs {
                ids: vec![id],
                all: false,
                delete: false,
            }),
            dir(project),
        ),
        LegacyCommand::Clean {
            project,
            keep_days,
            yes,
        } => (
            Command::Clean(CleanArgs {
                older_than: std::time::Duration::from_secs(keep_days * 86400),
                yes,
                snapshots: false,
            }),
            dir(project),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;
    use std::time::Duration;

    /// `zwarm ARGS` mapped, as `run` maps it.
    fn mapped(args: &[&str]) -> (Command, Option<PathBuf>) {
        let cli = Cli::try_parse_from(std::iter::once("zwarm").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        match cli.command {
            Command::Session(l) => map(l.command, cli.dir),
            other => panic!("{args:?}: not a session command: {other:?}"),
        }
    }

    #[test]
    fn start_runs_in_the_project_and_keeps_its_sessions_there() {
        let (c, dir) = mapped(&[
            "session", "start", "fix it", "-d", "/p", "-m", "o3", "-a", "claude",
        ]);
        let Command::Start(a) = c else {
            panic!("{c:?}")
        };
        assert_eq!(a.task, ["fix it"]);
        assert_eq!(a.cd.as_deref(), Some(Path::new("/p")));
        assert_eq!(a.model.as_deref(), Some("o3"));
        assert_eq!(a.adapter, AdapterArg::Claude);
        assert_eq!((a.sandbox, a.source.as_str()), (None, "user"));
        assert_eq!(dir.as_deref(), Some(Path::new("/p/.zwarm")));
    }

    #[test]
    fn the_global_dir_wins_over_the_project() {
        let (_, dir) = mapped(&["--dir", "/s", "session", "ls", "-d", "/p"]);
        assert_eq!(dir.as_deref(), Some(Path::new("/s")));
        let (c, dir) = mapped(&["session", "ls", "--all"]);
        assert!(
            matches!(c, Command::List(ListArgs { status: None, .. })),
            "{c:?}"
        );
        assert_eq!(dir, None);
    }

    #[test]
    fn show_inject_and_kill_name_one_session() {
        let (c, dir) = mapped(&["session", "show", "3f2a", "-d", "/p"]);
        assert!(
            matches!(c, Command::Show(IdArg { ref id }) if id == "3f2a"),
            "{c:?}"
        );
        assert_eq!(dir.as_deref(), Some(Path::new("/p/.zwarm")));
        let (c, _) = mapped(&["session", "inject", "3f2a", "go on"]);
        assert!(
            matches!(c, Command::Inject(InjectArgs { ref id, ref message, .. }) if id == "3f2a" && message == &["go on"]),
            "{c:?}"
        );
        let (c, _) = mapped(&["session", "kill", "3f2a"]);
        assert!(
            matches!(c, Command::Kill(KillArgs { ref ids, all: false, delete: false }) if ids == &["3f2a"]),
            "{c:?}"
        );
    }

    #[test]
    fn logs_is_output_or_with_follow_watch() {
        let (c, _) = mapped(&["session", "logs", "3f2a", "-t", "2"]);
        assert!(
            matches!(c, Command::Output(OutputArgs { ref id, turn: Some(2), stderr: false }) if id == "3f2a"),
            "{c:?}"
        );
        let (c, _) = mapped(&["session", "logs", "3f2a", "--follow"]);
        assert!(
            matches!(c, Command::Watch(WatchArgs { ref id, full: false }) if id == "3f2a"),
            "{c:?}"
        );
    }

    #[test]
    fn clean_keeps_days_as_a_duration() {
        let (c, _) = mapped(&["session", "clean", "--keep-days", "3", "-y"]);
        let Command::Clean(a) = c else {
            panic!("{c:?}")
        };
        assert_eq!(a.older_than, Duration::from_secs(3 * 86400));
        assert!(a.yes);
        let (c, _) = mapped(&["session", "clean"]);
        let Command::Clean(a) = c else {
            panic!("{c:?}")
        };
        assert_eq!(
            (a.older_than, a.yes),
            (Duration::from_secs(7 * 86400), false)
        );
    }
}
