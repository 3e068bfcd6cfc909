//! Remotes: other hosts whose zwarm owns their own store, driven over SSH.
//!
//! Nothing here speaks a protocol of its own: a remote runs the same verbs
//! with `--json` and answers with the same documents. What is kept here is
//! where the remotes are (`config`), how one verb reaches a host and comes
//! back (`transport`, and `exec` on the far side), and the last sessions
//! each host listed (`cache`), shown when it does not answer.

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod exec;
mod hangup;
pub(crate) mod ordered;
mod split;
pub(crate) mod transport;

use serde::{Deserialize, Serialize};

/// One remote as `remotes.toml` keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Remote {
    /// Anything ssh accepts: `user@host`, an alias, `ssh://user@host:port`.
    pub target: String,
    /// The remote store (`--dir` there); the host's own default if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_dir: Option<String>,
    /// Where `start --host` runs the agent without `-C`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// The zwarm program there.
    #[serde(default = "default_zwarm")]
    pub zwarm: String,
    /// `ssh -o` options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

fn default_zwarm() -> String {
    "zwarm".to_string()
}

/// A remote and the name it goes by.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    pub name: String,
    pub remote: Remote,
}

#[cfg(test)]
impl Host {
    /// The remote `b1` at `target`, with every setting at its default.
    pub(crate) fn b1(target: &str) -> Host {
        Host {
            name: "b1".into(),
            remote: Remote {
                target: target.into(),
                remote_dir: None,
                workdir: None,
                zwarm: default_zwarm(),
                options: Vec::new(),
            },
        }
    }
}

/// What can go wrong between here and a host, each said with its name.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HostError {
    #[error("no remote named '{0}' (`zwarm remote ls` lists them)")]
    Unknown(String),
    #[error("host {host} is unreachable: {detail}")]
    Unreachable { host: String, detail: String },
    #[error("host {host} refused the SSH authentication (nothing may prompt: use a key or an agent): {detail}")]
    AuthRefused { host: String, detail: String },
    #[error("zwarm is missing on host {host}: `{program}` did not run there{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    ZwarmMissing {
        host: String,
        program: String,
        detail: Option<String>,
    },
    #[error("the connection to host {host} was cut: {detail}; what runs there goes on, and the same command picks it up again")]
    Cut { host: String, detail: String },
    #[error("host {host} runs zwarm {remote_version} (JSON schema {remote_schema}), which this zwarm {local_version} (JSON schema {local_schema}) cannot drive")]
    Incompatible {
        host: String,
        local_version: String,
        local_schema: u32,
        remote_version: String,
        remote_schema: String,
    },
    #[error("host {host} answered what zwarm cannot read: {detail}")]
    BadReply { host: String, detail: String },
    #[error("host {host} did not answer within {}", bound(*.after))]
    TimedOut {
        host: String,
        after: std::time::Duration,
    },
    #[error("cannot run ssh for host {host}: {source}")]
    Spawn {
        host: String,
        #[source]
        source: std::io::Error,
    },
}

/// A bound as people write it: `1 s`, `2.5 s`, `300 ms`.
fn bound(d: std::time::Duration) -> String {
    if d < std::time::Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// Whether `name` can name a remote: short, plain, and not `local` (the
/// name of this store's rows in `list --all-hosts`).
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > 64 || !plain || name.starts_with(['-', '.']) {
        return Err(format!(
            "'{}' cannot name a remote: use 1 to 64 letters, digits, '.', '_' or '-', not first '-' or '.'",
            name.escape_debug()
        ));
    }
    if name == "local" {
        return Err("'local' cannot name a remote: it names this store".into());
    }
    Ok(())
}

/// Splits `NAME:ID` into the remote's name and the id; None for a plain id
/// (ids never hold a colon).
pub(crate) fn split_id(given: &str) -> Option<(&str, &str)> {
    given.split_once(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_not_local() {
        for ok in ["build1", "gpu.box", "a_b-c", "X"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a b",
            "a:b",
            "a/b",
            "local",
            "é",
            &"x".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bound_reads_as_written() {
        let ms = std::time::Duration::from_millis;
        assert_eq!(bound(ms(1)), "1 ms");
        assert_eq!(bound(ms(1000)), "1 s");
        assert_eq!(bound(ms(2500)), "2.5 s");
    }

    #[test]
    fn an_id_with_a_colon_names_its_host() {
        assert_eq!(split_id("build1:3f2a"), Some(("build1", "3f2a")));
        assert_eq!(split_id("3f2a"), None);
    }
}
