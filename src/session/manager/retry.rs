//! `retry`: the latest turn's message sent again as a new turn, now or
//! once the account limit it met lifts.

use super::{Manager, TurnOptions};
use crate::error::{Error, Result};
use crate::model::Session;

impl Manager {
    /// Runs the last turn's message again as a new turn of the same
    /// conversation: at once (lifting the agent's limit as far as this
    /// store knows it), or with `at_reset`, pending until the reset its
    /// last turn reported.
    pub(crate) fn retry(
        &self,
        prefix: &str,
        at_reset: bool,
        options: &TurnOptions,
    ) -> Result<Session> {
        let session = self.get(prefix)?;
        if session.status.is_active() {
            return Err(Error::Busy {
                id: session.id.to_string(),
                turn: session.turn,
            });
        }
        let message = session
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.clone())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "session {} has no message to send again",
                    session.short_id()
                ))
            })?;
        let mut options = options.clone();
        if at_reset {
            let reset = session.current_turn().and_then(|t| t.resets_at()).ok_or_else(|| {
                Error::Usage(format!(
                    "session {} has no reset time to wait for: its latest turn did not end rate_limited with one (retry without --at-reset)",
                    session.short_id()
                ))
            })?;
            options.not_before = Some(reset);
        } else if let Ok(limits) = crate::queue::limits::Limits::open(self.store.root(), false) {
            limits.clear(&session.adapter, false);
        }
        self.inject(&session.id, &message, &options)
    }
}
