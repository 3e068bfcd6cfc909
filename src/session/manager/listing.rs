//! `list` of many sessions: each held as a row of the store's scan (see
//! [`Store::scan_brief`]), the active ones read whole, settled and held
//! with their stall and queue place, all in `list`'s order.

use super::{Manager, QueuePlace};
use crate::error::Result;
use crate::model::Session;
use crate::session::stall::Stall;
use crate::store::{LoadProblem, Row, Scan};
use std::borrow::Cow;

/// What a summary is made of: a session, its stall and its queue place.
pub(crate) type Summarize<'a, S> =
    dyn Fn(&Session, Option<&Stall>, Option<&QueuePlace>) -> S + Sync + 'a;

/// A listing: every session as a row, newest first.
pub(crate) struct Listing<S> {
    scan: Scan<Listed<S>>,
}

/// A row's summary, and what only an active session has.
pub(crate) struct Listed<S> {
    pub summary: S,
    live: Option<Box<Live>>,
}

struct Live {
    stall: Option<Stall>,
    place: Option<QueuePlace>,
}

/// A session as `list` shows it, with its stall and queue place.
pub(crate) struct Shown<'a> {
    pub session: Cow<'a, Session>,
    pub stall: Option<&'a Stall>,
    pub place: Option<&'a QueuePlace>,
}

impl<S> Listing<S> {
    pub(crate) fn rows(&self) -> &[Row<Listed<S>>] {
        &self.scan.rows
    }

    pub(crate) fn problems(&self) -> &[LoadProblem] {
        &self.scan.problems
    }

    /// Keeps the rows for which `keep` holds.
    pub(crate) fn retain(&mut self, keep: impl Fn(&Row<Listed<S>>) -> bool) {
        self.scan.rows.retain(keep);
    }

    /// The session of a row, read again from the index where it was served
    /// from it.
    pub(crate) fn shown<'a>(&'a self, row: &'a Row<Listed<S>>) -> Result<Shown<'a>> {
        let live = row.summary.live.as_deref();
        Ok(Shown {
            session: self.scan.session(row)?,
            stall: live.and_then(|l| l.stall.as_ref()),
            place: live.and_then(|l| l.place.as_ref()),
        })
    }
}

impl Manager {
    /// [`Manager::list_brief`] holding only rows: each session summed up
    /// by `summarize` as it is read, finished ones not kept (their stall
    /// and queue place are none), so that listing 100,000 sessions holds
    /// no more of each than its summary.
    pub(crate) fn list_rows<S: Send>(
        &self,
        last_message: bool,
        summarize: &Summarize<'_, S>,
    ) -> Result<Listing<S>> {
        let mut scan = self.store.scan_brief(last_message, &|s: &Session| Listed {
            summary: summarize(s, None, None),
            live: None,
        })?;
        let mut settled = Vec::new();
        scan.rows.retain_mut(|row| {
            if !row.status.is_active() {
                return true;
            }
            match self.store.load(&row.id).and_then(|s| self.refresh(s)) {
                Ok(s) => {
                    let stall = self.stall(&s);
                    let place = self.queue_place(&s);
                    row.summary = Listed {
                        summary: summarize(&s, stall.as_ref(), place.as_ref()),
                        live: Some(Box::new(Live { stall, place })),
                    };
                    row.created_at = s.created_at;
                    row.status = s.status;
                    row.source = crate::store::Source::Read(Box::new(s));
                    true
                }
                Err(error) => {
                    settled.push(LoadProblem {
                        id: row.id.clone(),
                        error,
                    });
                    false
                }
            }
        });
        scan.problems.extend(settled);
        // Newest first, ties by id, as `list_brief` orders them.
        scan.rows.sort_unstable_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(Listing { scan })
    }
}
