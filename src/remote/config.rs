//! `$XDG_CONFIG_HOME/zwarm/remotes.toml` (else `~/.config/zwarm/`): the
//! remotes by name. Written whole and atomically, never through a link.

use super::{check_name, Host, HostError, Remote};
use crate::dir::{read_bounded, Dir};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

const FILE: &str = "remotes.toml";
/// A hand-written list of hosts is a few kilobytes.
const MAX_BYTES: u64 = 1 << 20;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Remotes {
    #[serde(default)]
    remotes: BTreeMap<String, Remote>,
}

/// The config home from `XDG_CONFIG_HOME` and `HOME`; a relative (or
/// empty) `XDG_CONFIG_HOME` is ignored, as the spec says.
pub(crate) fn config_home(xdg: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    match xdg.map(Path::new).filter(|p| p.is_absolute()) {
        Some(p) => Some(p.to_path_buf()),
        None => home
            .map(Path::new)
            .filter(|p| p.is_absolute())
            .map(|h| h.join(".config")),
    }
}

/// The remotes of this user.
#[derive(Debug)]
pub(crate) struct Config {
    home: PathBuf,
    remotes: BTreeMap<String, Remote>,
}

impl Config {
    /// Reads the file under the config home of the environment; no file is
    /// no remotes.
    pub(crate) fn load() -> Result<Config> {
        let home = config_home(
            std::env::var_os("XDG_CONFIG_HOME").as_deref(),
            std::env::var_os("HOME").as_deref(),
        )
        .ok_or_else(|| {
            anyhow!("nowhere to keep remotes: neither XDG_CONFIG_HOME nor HOME is an absolute path")
        })?;
        Config::load_at(home)
    }

    pub(crate) fn load_at(home: PathBuf) -> Result<Config> {
        let mut config = Config {
            home,
            remotes: BTreeMap::new(),
        };
        let path = config.path();
        let dir = match Dir::open(&config.home).and_then(|h| h.sub("zwarm")) {
            Ok(d) => d,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(config),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let file = match dir.read_file(FILE) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(config),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let bytes = read_bounded(file, MAX_BYTES)
            .with_context(|| format!("cannot read {}", path.display()))?
            .map_err(|big| {
                anyhow!(
                    "{} is {} bytes, more than zwarm reads",
                    path.display(),
                    big.0
                )
            })?;
        let text =
            String::from_utf8(bytes).map_err(|_| anyhow!("{} is not UTF-8", path.display()))?;
        let parsed: Remotes = toml::from_str(&text)
            .map_err(|e| anyhow!("cannot read {}: {}", path.display(), e.message()))?;
        for name in parsed.remotes.keys() {
            check_name(name).map_err(|why| anyhow!("{}: {why}", path.display()))?;
        }
        config.remotes = parsed.remotes;
        Ok(config)
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.home.join("zwarm").join(FILE)
    }

    pub(crate) fn hosts(&self) -> impl Iterator<Item = Host> + '_ {
        self.remotes.iter().map(|(name, remote)| Host {
            name: name.clone(),
            remote: remote.clone(),
        })
    }

    pub(crate) fn host(&self, name: &str) -> Result<Host, HostError> {
        self.remotes
            .get(name)
            .map(|remote| Host {
                name: name.to_string(),
                remote: remote.clone(),
            })
            .ok_or_else(|| HostError::Unknown(name.to_string()))
    }

    /// Adds `name`; refused if it is taken.
    pub(crate) fn add(&mut self, name: &str, remote: Remote) -> Result<()> {
        if self.remotes.contains_key(name) {
            bail!("a remote named '{name}' exists already (`zwarm remote rm {name}` first)");
        }
        self.remotes.insert(name.to_string(), remote);
        self.save()
    }

    /// Removes `name`; false if there was none.
    pub(crate) fn remove(&mut self, name: &str) -> Result<bool> {
        if self.remotes.remove(name).is_none() {
            return Ok(false);
        }
        self.save().map(|()| true)
    }

    fn save(&self) -> Result<()> {
        let path = self.path();
        let text = toml::to_string(&Remotes {
            remotes: self.remotes.clone(),
        })
        .with_context(|| format!("cannot write {}", path.display()))?;
        // The config home is the user's to place, links and all; the
        // folder zwarm makes in it and the file are held to no-link rules.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.home)
            .with_context(|| format!("cannot create {}", self.home.display()))?;
        Dir::open(&self.home)
            .and_then(|h| h.make_sub("zwarm", 0o700))
            .and_then(|d| d.write_atomic(FILE, text.as_bytes(), 0o600))
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(target: &str) -> Remote {
        Remote {
            target: target.into(),
            remote_dir: Some("/srv/z".into()),
            workdir: None,
            zwarm: "zwarm".into(),
            options: vec!["Port=2222".into()],
        }
    }

    #[test]
    fn remotes_are_kept_across_loads() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Config::load_at(tmp.path().to_path_buf()).unwrap();
        assert_eq!(c.hosts().count(), 0);
        c.add("b", remote("me@b")).unwrap();
        c.add("a", remote("ssh://me@a:22")).unwrap();
        assert!(c.add("a", remote("x")).is_err());
        let again = Config::load_at(tmp.path().to_path_buf()).unwrap();
        let names: Vec<String> = again.hosts().map(|h| h.name).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(again.host("a").unwrap().remote, remote("ssh://me@a:22"));
        let mut again = again;
        assert!(again.remove("a").unwrap());
        assert!(!again.remove("a").unwrap());
        let last = Config::load_at(tmp.path().to_path_buf()).unwrap();
        assert!(matches!(last.host("a"), Err(HostError::Unknown(_))));
    }

    #[test]
    fn a_linked_folder_is_not_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), tmp.path().join("zwarm")).unwrap();
        let mut c = Config::load_at(tmp.path().to_path_buf()).unwrap_or(Config {
            home: tmp.path().to_path_buf(),
            remotes: BTreeMap::new(),
        });
        assert!(c.add("a", remote("x")).is_err());
        assert!(!elsewhere.path().join(FILE).exists());
    }

    #[test]
    fn the_config_home_follows_xdg() {
        let h = |x: Option<&str>, home: Option<&str>| {
            config_home(x.map(OsStr::new), home.map(OsStr::new))
        };
        assert_eq!(h(Some("/x"), Some("/h")), Some(PathBuf::from("/x")));
        assert_eq!(
            h(Some("rel"), Some("/h")),
            Some(PathBuf::from("/h/.config"))
        );
        assert_eq!(h(None, None), None);
    }
}
