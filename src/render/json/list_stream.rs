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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Session;
    use crate::session::manager::QueuePlace;
    use crate::session::stall::Stall;
    use crate::timefmt::Timestamp;
    use std::borrow::Cow;

    fn session(id: &str, status: &str) -> Session {
        serde_json::from_value(serde_json::json!({
            "id": id, "task": "fix \"it\"\n", "status": status, "working_dir": "/w",
            "created_at": "2026-01-01T00:00:00.5", "updated_at": "2026-01-01T00:01:00",
            "cost_usd": 0.25, "messages": [{"role": "assistant", "content": "done"}],
        }))
        .unwrap()
    }

    #[test]
    fn the_streamed_document_is_the_held_one_byte_for_byte() {
        let sessions = [
            session("aaaaaaaa-1", "running"),
            session("bbbbbbbb-2", "pending"),
            session("cccccccc-3", "completed"),
        ];
        let stalls = [
            Some(Stall {
                since: Timestamp::now(),
                retries: 3,
                last_retry: Some("429".into()),
            }),
            None,
            None,
        ];
        let places = [
            None,
            Some(QueuePlace {
                group: "g".into(),
                max_running: Some(2),
                running: 1,
                position: Some(1),
                after: vec!["x".into()],
                limited: false,
                waits_until: None,
            }),
            None,
        ];
        let problems = [LoadProblem {
            id: "dddddddd-4".into(),
            error: Error::NotFound("dddddddd-4".into()),
        }];
        for n in 0..=sessions.len() {
            let held = super::super::ListJson::new(&sessions[..n], &stalls, &places, &problems);
            let shown = (0..n).map(|i| {
                Ok(Shown {
                    session: Cow::Borrowed(&sessions[i]),
                    stall: stalls[i].as_ref(),
                    place: places[i].as_ref(),
                })
            });
            let streamed = ListJsonStream::new(shown, &problems);
            assert_eq!(
                serde_json::to_string_pretty(&streamed).unwrap(),
                serde_json::to_string_pretty(&held).unwrap()
            );
        }
    }

    #[test]
    fn a_session_that_cannot_be_read_ends_the_document_with_its_error() {
        let problems = [];
        let failing = std::iter::once(Err(Error::NotFound("gone".into())));
        let streamed = ListJsonStream::new(failing, &problems);
        let err = serde_json::to_string_pretty(&streamed).unwrap_err();
        assert!(err.to_string().contains("gone"), "{err}");
    }
}
