//! The queues' folders: entries whose supervisor is gone.

use super::{Finding, Kind};
use crate::queue::Group;
use std::path::Path;

/// A record of an account limit that cannot be read holds no session
/// back; it is reported, and `--fix` removes it.
pub(super) fn limit_records(root: &Path, fix: bool, out: &mut Vec<Finding>) {
    let Ok(limits) = crate::queue::limits::Limits::open(root, false) else {
        return;
    };
    for name in limits.unreadable() {
        let mut f = Finding::new(
            Kind::UnreadableLimit,
            None,
            format!(
                "{} is not a record of an account limit zwarm can read",
                root.join("limits").join(&name).display()
            ),
        );
        if fix {
            match limits.remove(&name) {
                Ok(()) => f.done("removed".into()),
                Err(e) => f.failed(format!("cannot remove it: {e}")),
            }
        }
        out.push(f);
    }
}

/// An entry nobody holds any more (its supervisor was killed outright)
/// counts nowhere: it is reported, and `--fix` removes it.
pub(super) fn queue_entries(root: &Path, fix: bool, out: &mut Vec<Finding>) {
    for name in Group::names(root) {
        let Some(group) = Group::existing(root, &name) else {
            continue;
        };
        let dead = group.sweep(false);
        if dead == 0 {
            continue;
        }
        let mut f = Finding::new(
            Kind::DeadQueueEntry,
            None,
            format!(
                "{dead} entr{} in {} belong{} to supervisors that are gone (counted nowhere)",
                if dead == 1 { "y" } else { "ies" },
                root.join("queue").join(&name).display(),
                if dead == 1 { "s" } else { "" },
            ),
        );
        if fix {
            let removed = group.sweep(true);
            f.done(format!("removed {removed}"));
        }
        out.push(f);
    }
}
