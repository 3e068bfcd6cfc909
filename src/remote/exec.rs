//! `zwarm remote-exec`, the far side of a remote verb: the one command line
//! ssh runs, whatever the verb. Its arguments come on stdin as JSON and are
//! handed to this same binary as an argv, so no shell reads them.

use super::transport::Request;
use anyhow::{anyhow, bail, Context, Result};
use std::io::Read;
use std::os::unix::process::CommandExt;

/// The verbs a remote may be asked to run.
const VERBS: &[&str] = &[
    "version",
    "list",
    "show",
    "start",
    "wait",
    "kill",
    "inject",
    "trajectory",
    "watch",
    "diff",
    "output",
    "retry",
    "rm",
    "clean",
    "doctor",
];

/// The verbs that may block for as long as a session runs: stopped when
/// the connection they answer on goes away.
const BLOCKING: &[&str] = &["wait", "watch"];

/// A request is a verb's arguments: a task may be long, not unbounded.
const MAX_REQUEST: u64 = 16 << 20;

/// Reads the request from stdin and becomes the verb it asks for; returns
/// only if that cannot be done.
pub(crate) fn run() -> Result<()> {
    let mut body = Vec::new();
    std::io::stdin()
        .take(MAX_REQUEST + 1)
        .read_to_end(&mut body)
        .context("cannot read the request on stdin")?;
    if body.len() as u64 > MAX_REQUEST {
        bail!("the request on stdin is larger than {MAX_REQUEST} bytes");
    }
    let request = parse(&body)?;
    let exe = std::env::current_exe().context("cannot find this zwarm's own program")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(&request.argv).stdin(std::process::Stdio::null());
    if let Some(c) = request.columns {
        cmd.env("COLUMNS", c.to_string());
    }
    if BLOCKING.contains(&request.argv[0].as_str()) {
        let never = super::hangup::run_until_hangup(cmd).context("cannot run zwarm")?;
        match never {}
    }
    Err(cmd.exec()).context("cannot run zwarm")
}

/// The request, checked: JSON of the expected shape naming a verb a
/// remote runs.
pub(crate) fn parse(body: &[u8]) -> Result<Request> {
    let request: Request = serde_json::from_slice(body)
        .map_err(|e| anyhow!("the request on stdin is not a remote-exec request: {e}"))?;
    match request.argv.first() {
        Some(verb) if VERBS.contains(&verb.as_str()) => Ok(request),
        Some(verb) => bail!("'{}' is not a verb a remote runs", verb.escape_debug()),
        None => bail!("the request names no verb"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_verbs_a_remote_runs_are_accepted() {
        let ok = parse(br#"{"argv":["show","--json","3f2a"],"columns":80}"#).unwrap();
        assert_eq!(ok.argv, ["show", "--json", "3f2a"]);
        assert_eq!(ok.columns, Some(80));
        for bad in [
            r#"{"argv":["mcp"]}"#,
            r#"{"argv":["top"]}"#,
            r#"{"argv":["remote-exec"]}"#,
            r#"{"argv":[]}"#,
            r#"{"argv":["list"],"shell":"sh"}"#,
            "list",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
