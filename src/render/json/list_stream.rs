//! `list --json` written as it is read: each session's document is made,
//! written and dropped before the next session is read, so that listing
//! 100,000 sessions never holds their documents. The bytes are those of
//! [`super::ListJson`], whose fields these are, in its order.

use super::{problems_json, ProblemJson, SessionJson, SCHEMA_VERSION};
use crate::error::Error;
use crate::session::manager::Shown;
use crate::store::LoadProblem;
use serde::ser::{Error as _, Serializer};
use serde::Serialize;
use std::cell::Cell;

pub(crate) struct ListJsonStream<I> {
    schema_version: u32,
    sessions: Each<I>,
    problems: Vec<ProblemJson>,
}

impl<'a, I: Iterator<Item = Result<Shown<'a>, Error>>> ListJsonStream<I> {
    /// `sessions` are taken one by one as the document is written; one
    /// that fails to be read ends the document with its error.
    pub(crate) fn new(sessions: I, problems: &[LoadProblem]) -> Self {
        ListJsonStream {
            schema_version: SCHEMA_VERSION,
            sessions: Each(Cell::new(Some(sessions))),
            problems: problems_json(problems),
        }
    }
}

impl<'a, I: Iterator<Item = Result<Shown<'a>, Error>>> Serialize for ListJsonStream<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut doc = s.serialize_struct("ListJson", 3)?;
        doc.serialize_field("schema_version", &self.schema_version)?;
        doc.serialize_field("sessions", &self.sessions)?;
        doc.serialize_field("problems", &self.problems)?;
        doc.end()
    }
}

/// A list whose items are made as they are written; it can be written once.
struct Each<I>(Cell<Option<I>>);

impl<'a, I: Iterator<Item = Result<Shown<'a>, Error>>> Serialize for Each<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self
            .0
            .take()
            .ok_or_else(|| S::Error::custom("a list written twice"))?;
        s.collect_seq(items.map(Document))
    }
}

struct Document<'a>(Result<Shown<'a>, Error>);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(shown) => SessionJson::from(&*shown.session)
                .with_stall(shown.stall)
                .with_queue(shown.place)
                .serialize(s),
            Err(e) => Err(S::Error::custom(e)),
        }
    }
}
