//! What `meta.json` keeps of how a turn waits before its agent starts: the
//! group whose running turns it counts, its limit, the sessions it comes
//! after, and its ticket (its place among the group's queued turns).

use crate::timefmt::Timestamp;
use serde::{Deserialize, Serialize};

/// A turn's place in its group's queue (`queue` of a turn in `meta.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QueueRecord {
    /// The group; None: the store's default group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The turn starts only while fewer of the group's turns run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_running: Option<u32>,
    /// Sessions whose latest turns must have completed first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Handed out when the turn was queued; lower goes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<u64>,
    /// Not before this time (`retry --at-reset`: the limit's reset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// When the turn began to wait; its `started_at` is when its agent
    /// started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<Timestamp>,
}

impl QueueRecord {
    pub(crate) fn group_name(&self) -> &str {
        self.group.as_deref().unwrap_or(crate::queue::DEFAULT_GROUP)
    }
}
