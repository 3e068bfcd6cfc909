//! A task of about 1 MB, far past what one argument may hold: it reaches
//! the fake agent on stdin, and the real CLIs whole, end to end.

use crate::support::e2e;
use crate::support::fake::transcript;
use crate::support::output::{expect, stdout, ANY, EMPTY};
use crate::support::world::{World, STARTED};
use crate::support::{mock_messages, mock_responses};

/// About 1 MB of task in words of a few dozen bytes (no one argument near
/// the kernel's 128 KiB), starting with `head`; each word distinct.
fn long_task(head: &str) -> Vec<String> {
    let mut words = vec![head.to_string()];
    let mut len = head.len();
    let mut n = 0;
    while len < 1_000_000 {
        let w = format!("word-{n:06}-of-a-task-that-must-arrive-whole");
        len += w.len() + 1;
        words.push(w);
        n += 1;
    }
    words
}

/// The length of a process's command line.
fn cmdline_len(pid: i64) -> usize {
    std::fs::read(format!("/proc/{pid}/cmdline")).unwrap().len()
}

/// A 1 MB task with the fake agent: `start` exits 0 and the session
/// completes; the prompt reaches the agent on stdin from an anonymous file
/// (codex's argv ends with `-- -`, claude's has no prompt argument), and the
/// supervisor's own command line stays short; a 1 MB `inject` too, with
/// its prompt read back whole from the running agent's stdin.
#[test]
fn a_1_mb_task_reaches_the_fake_agent_on_stdin() {
    let w = World::new();
    let words = long_task("first");
    let task = words.join(" ");
    let memfd = "/memfd:zwarm-prompt (deleted)";
    let start = |adapter: &str| {
        let mut args = vec!["start", "-a", adapter, "--"];
        args.extend(words.iter().map(String::as_str));
        w.run(&args)
            .expect(0, ANY, EMPTY)
            .stdout()
            .trim()
            .to_string()
    };

    // codex: completes, `-- -`.
    w.agent.turn(1, transcript("codex_first_turn.jsonl"));
    let id = start("codex");
    assert_eq!(w.wait(&id), 0, "{}", w.meta(&id));
    let argv = w.agent.argv(1);
    assert_eq!(argv[argv.len() - 2..], ["--", "-"], "{argv:?}");
    assert!(argv.iter().all(|a| a.len() < 4096), "a long argument");
    assert_eq!(w.agent.stdin(1), memfd);
    assert_eq!(w.meta(&id)["task"], task.as_str());

    // claude: completes, no prompt argument.
    w.agent.turn(2, transcript("claude_first_turn.jsonl"));
    let claude = start("claude");
    assert_eq!(w.wait(&claude), 0, "{}", w.meta(&claude));
    let argv = w.agent.argv(2);
    assert!(
        argv.last().unwrap().starts_with("--session-id="),
        "{argv:?}"
    );
    assert!(!argv.contains(&"--".to_string()), "{argv:?}");
    assert!(argv.iter().all(|a| a.len() < 4096), "a long argument");
    assert_eq!(w.agent.stdin(2), memfd);

    // A 1 MB inject into the codex session, held running: the supervisor's
    // argv is short, and the agent's stdin holds the message whole.
    let message_words = long_task("second");
    let message = message_words.join(" ");
    w.agent.turn(3, transcript("codex_resume.jsonl")).hang(3);
    let mut args = vec!["inject", &id, "--"];
    args.extend(message_words.iter().map(String::as_str));
    let out = w.run(&args);
    expect(&out, 0);
    w.agent.wait_hanging(3, STARTED);
    let meta = w.meta(&id);
    let supervisor = meta["turns"][1]["supervisor"]["pid"].as_i64().unwrap();
    let len = cmdline_len(supervisor);
    assert!(len < 4096, "the supervisor's cmdline is {len} bytes");
    let environ = std::fs::read(format!("/proc/{supervisor}/environ")).unwrap();
    assert!(
        environ.len() < message.len() / 2,
        "the supervisor's environment is {} bytes",
        environ.len()
    );
    let agent = w.agent.pid(3);
    let seen = std::fs::read(format!("/proc/{agent}/fd/0")).unwrap();
    assert!(
        seen == message.as_bytes(),
        "the agent read {} bytes",
        seen.len()
    );
    let argv = w.agent.argv(3);
    assert_eq!(argv[argv.len() - 4], "resume", "{argv:?}");
    assert_eq!(argv[argv.len() - 1], "-", "{argv:?}");
    assert_eq!(w.agent.stdin(3), memfd);
    expect(&w.run(&["kill", &id]), 0);
    eprintln!(
        "long task: {} bytes to codex and claude and {} bytes injected, on stdin; the supervisor's cmdline {len} bytes",
        task.len(),
        message.len()
    );
}

/// The real CLI receives a ~1 MB task whole.
fn real_cli_takes_a_1_mb_task(
    z: &World,
    adapter: &str,
    requests: impl Fn() -> Vec<String>,
    whole: impl Fn(&str, &str) -> bool,
) -> usize {
    let reply = format!("{adapter}-took-the-long-task");
    let words = long_task(&format!("SCN_SAY {reply}\n"));
    let task = words.join(" ");
    let work = z.work.path().to_str().unwrap().to_string();
    let mut args = vec!["start", "-a", adapter, "-C", &work, "--"];
    args.extend(words.iter().map(String::as_str));
    let out = z.run(&args);
    expect(&out, 0);
    let id = stdout(&out).trim().to_string();
    let (code, shown) = z.wait_shown(&id);
    assert_eq!(code, 0, "{shown:#}");
    assert_eq!(shown["status"], "completed", "{shown:#}");
    assert_eq!(shown["last_message"], reply.as_str(), "{shown:#}");
    let seen = requests();
    assert!(!seen.is_empty(), "no model request");
    assert!(
        whole(&seen[0], &task),
        "the model was sent {} bytes of a {}-byte task",
        seen[0].len(),
        task.len()
    );
    task.len()
}

/// End to end: `zwarm start` with a ~1 MB task against the codex mock
/// completes, and the model request carries the task whole.
#[test]
fn codex_takes_a_1_mb_task_end_to_end() {
    let mock = mock_responses::MockServer::start();
    let z = World::with_agents(vec![e2e::codex(mock.port())]);
    let len = real_cli_takes_a_1_mb_task(
        &z,
        "codex",
        || {
            mock.model_requests()
                .iter()
                .map(|r| mock_responses::last_user_text(&r.body))
                .collect()
        },
        |seen, task| seen == task,
    );
    eprintln!("long task: codex took a {len}-byte task whole through zwarm");
}

/// End to end: `zwarm start -a claude` with a ~1 MB task against the
/// Messages mock completes, and the model request carries the task whole.
#[test]
fn claude_takes_a_1_mb_task_end_to_end() {
    let mock = mock_messages::MockServer::start();
    let z = World::with_agents(vec![e2e::claude(mock.port())]);
    let len = real_cli_takes_a_1_mb_task(
        &z,
        "claude",
        || {
            mock.model_requests()
                .iter()
                .map(|r| mock_messages::last_user_text(&r.body))
                .collect()
        },
        |seen, task| seen.contains(task),
    );
    eprintln!("long task: claude took a {len}-byte task whole through zwarm");
}
