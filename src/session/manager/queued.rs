//! Where a pending session stands: its place in its group's line and the
//! sessions it still waits for. Read from the queue's folders, never
//! written: a reader learns it, and nothing else changes.

use super::Manager;
use crate::model::{Session, SessionStatus};
use crate::queue::Group;
use crate::timefmt::Timestamp;

/// A queued turn's place, as `list` and `show` give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueuePlace {
    pub group: String,
    pub max_running: Option<u32>,
    /// How many of the group's turns run now.
    pub running: usize,
    /// 1-based, among the group's waiting turns; None while it does not
    /// wait in the line (it waits for sessions it comes after first).
    pub position: Option<usize>,
    /// The sessions it comes after that have not ended yet.
    pub after: Vec<String>,
    /// Its agent's account limit holds it back.
    pub limited: bool,
    /// It will not start before then: the limit's reset, or the time
    /// `retry --at-reset` gave it.
    pub waits_until: Option<Timestamp>,
}

impl Manager {
    /// The queue place of a pending session whose supervisor waits; None
    /// for any other.
    pub(crate) fn queue_place(&self, s: &Session) -> Option<QueuePlace> {
        if s.status != SessionStatus::Pending {
            return None;
        }
        let rec = s
            .current_turn()
            .filter(|t| t.is_open() && t.agent.is_none())?;
        rec.supervisor.as_ref()?;
        let q = rec.queue.as_ref()?;
        let group = Group::existing(self.store.root(), q.group_name());
        let after: Vec<String> = q
            .after
            .iter()
            .filter(|dep| self.store.load(dep).is_ok_and(|d| d.status.is_active()))
            .cloned()
            .collect();
        let limit = crate::queue::limits::Limits::open(self.store.root(), false)
            .ok()
            .and_then(|l| l.current(&s.adapter));
        let not_before = q.not_before.filter(|t| *t > Timestamp::now());
        Some(QueuePlace {
            limited: limit.is_some(),
            waits_until: not_before.max(limit.and_then(|l| l.resets_at)),
            group: q.group_name().to_string(),
            max_running: q.max_running,
            running: group.as_ref().map_or(0, Group::running_count),
            position: match (&group, q.ticket) {
                (Some(g), Some(t)) => g.place(t, &s.id),
                _ => None,
            },
            after,
        })
    }
}
