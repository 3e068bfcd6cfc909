//! How deep in a chain of sessions a caller is: an agent that starts
//! sessions whose agents start sessions... is bounded. Every session's
//! supervisor and agent carry `ZWARM_DEPTH` (one more than whoever started
//! the turn) and `ZWARM_MAX_DEPTH` (the bound, which a caller may lower but
//! never raise), and a `start` past the bound is refused.
//!
//! The caller's own environment is not trusted alone: an agent may run
//! `env -u ZWARM_DEPTH zwarm start ...`. The environments its ancestors
//! were started with (`/proc/<pid>/environ`, which a process cannot change
//! for its parent) count too: the depth is the deepest any of them says,
//! the bound the lowest.

use std::fs;
use std::sync::OnceLock;

/// The variable that says how deep a process is.
pub(crate) const DEPTH_ENV: &str = "ZWARM_DEPTH";
/// The variable that bounds it.
pub(crate) const MAX_DEPTH_ENV: &str = "ZWARM_MAX_DEPTH";
/// The bound when nobody set one: an orchestrator's sessions may start
/// sessions, theirs may not.
pub(crate) const DEFAULT_MAX_DEPTH: u32 = 2;

/// Where a caller stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Depth {
    /// 0 for a person at a terminal; the depth of the agent it runs under
    /// otherwise.
    pub depth: u32,
    pub max: u32,
}

impl Depth {
    /// Of this process, from its environment and its ancestors'. Read once:
    /// neither changes while it runs (an environment in `/proc` is the one
    /// a process was started with), and `start` needs it twice.
    pub(crate) fn of_caller() -> Depth {
        static CALLER: OnceLock<Depth> = OnceLock::new();
        *CALLER.get_or_init(Depth::read)
    }

    fn read() -> Depth {
        let own = |var: &str| {
            std::env::var(var)
                .ok()
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        let mut depth = own(DEPTH_ENV).unwrap_or(0);
        let mut max = own(MAX_DEPTH_ENV);
        let mut pid = crate::process::stat(std::process::id() as i32).map_or(0, |s| s.ppid);
        // Up to init; bounded, should /proc lie.
        for _ in 0..256 {
            if pid <= 1 {
                break;
            }
            if let Ok(env) = fs::read(format!("/proc/{pid}/environ")) {
                if let Some(d) = value(&env, DEPTH_ENV) {
                    depth = depth.max(d);
                }
                if let Some(m) = value(&env, MAX_DEPTH_ENV) {
                    max = Some(max.map_or(m, |x| x.min(m)));
                }
            }
            pid = crate::process::stat(pid).map_or(0, |s| s.ppid);
        }
        Depth {
            depth,
            max: max.unwrap_or(DEFAULT_MAX_DEPTH),
        }
    }

    /// The depth of a turn this caller starts.
    pub(crate) fn child(self) -> u32 {
        self.depth.saturating_add(1)
    }

    /// Whether this caller may start a session.
    pub(crate) fn may_start(self) -> bool {
        self.child() <= self.max
    }
}

/// `var`'s value in a NUL-separated environment block, as a number.
fn value(env: &[u8], var: &str) -> Option<u32> {
    env.split(|&b| b == 0).find_map(|entry| {
        let rest = entry.strip_prefix(var.as_bytes())?.strip_prefix(b"=")?;
        std::str::from_utf8(rest).ok()?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_from_an_environment_block() {
        let env = b"A=1\0ZWARM_DEPTH=3\0ZWARM_DEPTHX=9\0ZWARM_MAX_DEPTH=x\0";
        assert_eq!(value(env, DEPTH_ENV), Some(3));
        assert_eq!(value(env, MAX_DEPTH_ENV), None);
        assert_eq!(value(b"", DEPTH_ENV), None);
    }

    #[test]
    fn a_child_is_one_deeper_and_bounded() {
        let top = Depth { depth: 0, max: 2 };
        assert!(top.may_start());
        assert_eq!(top.child(), 1);
        assert!(Depth { depth: 1, max: 2 }.may_start());
        assert!(!Depth { depth: 2, max: 2 }.may_start());
        assert!(!Depth { depth: 0, max: 0 }.may_start());
    }
}
