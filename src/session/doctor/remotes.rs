//! The per-user files of remotes: `remotes.toml`, which only the user
//! mends (it is reported), and the cache of remotes' last lists, of which
//! `--fix` removes what no remote reads (it is a cache: nothing is lost).

use super::{Finding, Kind};
use crate::remote::cache;
use crate::remote::config::Config;

pub(super) fn remote_files(fix: bool, out: &mut Vec<Finding>) {
    let config = match Config::load() {
        Ok(c) => Some(c),
        Err(e) => {
            out.push(Finding::new(
                Kind::UnreadableRemotes,
                None,
                format!("{e:#}"),
            ));
            None
        }
    };
    let Some(base) = cache::dir() else {
        return;
    };
    for (file, remote) in cache::files(&base) {
        let path = base.join("remotes").join(&file);
        let detail = match (&remote, &config) {
            (Some(r), _) if cache::load(&base, r).is_none() => {
                format!("{} is not a list zwarm can read", path.display())
            }
            (Some(r), Some(c)) if c.host(r).is_err() => {
                format!(
                    "{} is the last list of remote {r}, which is gone",
                    path.display()
                )
            }
            (Some(_), _) => continue,
            (None, _) => format!("{} is no list of a remote", path.display()),
        };
        let mut f = Finding::new(Kind::StaleRemoteCache, None, detail);
        if fix {
            match cache::remove(&base, &file) {
                Ok(()) => f.done("removed".into()),
                Err(e) => f.failed(format!("cannot remove it: {e}")),
            }
        }
        out.push(f);
    }
}
