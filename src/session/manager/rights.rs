//! The rights a session was started with, as the manager checks them
//! before every turn (see [`crate::rights`]).

use super::Manager;
use crate::error::{Error, Result};
use crate::model::Session;
use crate::rights::{self, RightsDir};

impl Manager {
    /// Where the rights of sessions are recorded, outside every workspace.
    pub(super) fn rights(&self, id: &str) -> Result<RightsDir> {
        RightsDir::from_env().map_err(|source| Error::Rights {
            id: id.to_string(),
            source,
        })
    }

    /// Refuses a turn whose meta.json asks for other rights than the session
    /// was started with (its record), or, for a session from before records
    /// were kept, values that are not what zwarm ever writes.
    pub(super) fn check_rights(&self, session: &Session) -> Result<()> {
        let id = &session.id;
        let fail = |source| Error::Rights {
            id: id.to_string(),
            source,
        };
        let dir = self.rights(id)?;
        let root = self.canonical_root();
        match dir.load(id).map_err(fail)? {
            Some(record) => {
                rights::check_session(&record, &root, session).map_err(|m| fail(m.into()))
            }
            None => {
                // Without a record, a session is trusted only as one from
                // before records were kept for this store: its folder must be
                // older than the first record (a birth time no file edit can
                // change). One made since was copied or forged into the store.
                let since = dir.store_since(&root).map_err(fail)?;
                let born = std::fs::metadata(self.store.session_dir(id))
                    .and_then(|m| m.created())
                    .ok()
                    .filter(|t| *t > std::time::UNIX_EPOCH);
                if let (Some(since), Some(born)) = (since, born) {
                    if born >= since {
                        return Err(Error::Unrecorded { id: id.to_string() });
                    }
                }
                rights::validate_session(session).map_err(|i| fail(i.into()))
            }
        }
    }

    /// Forgets the rights recorded for a removed session.
    pub(crate) fn forget_rights(&self, id: &str) {
        if let Ok(rights) = RightsDir::from_env() {
            let _ = rights.remove(id);
        }
    }
}
