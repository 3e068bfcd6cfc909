//! The records of rights kept outside the store, against its sessions.

use super::{Finding, Kind, CREATING_GRACE_SECS};
use crate::model::Session;
use crate::rights::{self, RightsDir};
use crate::session::manager::Manager;
use crate::store::CREATING;

/// The records of rights kept outside the store: each session's must agree
/// with its `meta.json` (`inject` refuses it otherwise), and a record of
/// this store whose session is gone is removed by `--fix` (it holds nothing
/// but what the session was started with).
pub(super) fn rights_records(
    manager: &Manager,
    sessions: &[Session],
    fix: bool,
    out: &mut Vec<Finding>,
) {
    let Ok(rights) = RightsDir::from_env() else {
        return;
    };
    let root = manager.canonical_root();
    for s in sessions {
        let Ok(Some(record)) = rights.load(&s.id) else {
            continue;
        };
        if let Err(m) = rights::check_session(&record, &root, s) {
            out.push(Finding::new(
                Kind::RightsMismatch,
                Some(&s.id),
                format!("{m}; `inject` refuses this session until meta.json agrees"),
            ));
        }
    }
    let Ok(ids) = rights.ids() else {
        return;
    };
    let store = manager.store();
    for id in ids {
        let Ok(Some(record)) = rights.load(&id) else {
            continue;
        };
        let creating = store.sessions_dir().join(format!("{CREATING}{id}"));
        // A record is written just before its session folder: one under
        // way is not an orphan.
        if record.store != root
            || store.session_dir(&id).exists()
            || creating.exists()
            || record.written_at.age_seconds() < CREATING_GRACE_SECS as f64
        {
            continue;
        }
        let mut f = Finding::new(
            Kind::OrphanRights,
            Some(&id),
            format!(
                "{} records the rights of a session that is no longer in this store",
                rights.path(&id).display()
            ),
        );
        if fix {
            match rights.remove(&id) {
                Ok(_) => f.done("removed the record".into()),
                Err(e) => f.failed(format!("could not remove it: {e}")),
            }
        }
        out.push(f);
    }
}
