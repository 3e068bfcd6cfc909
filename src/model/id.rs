//! Session ids: the names of session folders, so the only text from a
//! command line or a `meta.json` that reaches a path.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Deref;

/// A session's id: hex digits and dashes, at most 64 (zwarm makes UUIDs;
/// zwarm 2.3.5 did too). Holding one means it was checked: it names a folder
/// inside the store and nothing outside it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

/// Text that is not a session id.
// Escaped: the id is the user's text, and may hold a newline or a control
// character that would break the one-line error. Cut: it may be long.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid session id {}: an id is hex digits and dashes", quoted_id(.0))]
pub struct InvalidId(pub String);

impl SessionId {
    /// How many characters of an id people see and type.
    pub const SHORT: usize = 8;

    /// A new random id (a UUID, as zwarm 2.3.5 made them).
    pub fn random() -> Self {
        SessionId(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if Self::is_valid(s) {
            Ok(SessionId(s.to_owned()))
        } else {
            Err(InvalidId(s.to_owned()))
        }
    }

    /// Whether `s` could name a session (or, shorter, the start of one's id).
    pub fn is_valid(s: &str) -> bool {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first [`Self::SHORT`] characters, as `list` shows them.
    pub fn short(&self) -> &str {
        short(&self.0)
    }
}

/// The short form of an id that may not have been checked (as given on a
/// command line, for a message about it).
pub(crate) fn short(id: &str) -> &str {
    id.get(..SessionId::SHORT).unwrap_or(id)
}

/// Characters of an invalid id that its error shows: enough to recognise
/// it, few enough that the error stays one line.
const ID_SHOWN: usize = 40;

/// `id` quoted and escaped for a one-line error; past [`ID_SHOWN`]
/// characters, cut, with `…` and how many characters it has.
fn quoted_id(id: &str) -> String {
    match id.char_indices().nth(ID_SHOWN) {
        None => format!("'{}'", id.escape_debug()),
        Some((cut, _)) => format!(
            "'{}…' ({} characters)",
            id[..cut].escape_debug(),
            id.chars().count()
        ),
    }
}

impl Deref for SessionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for SessionId {
    fn as_ref(&self) -> &std::path::Path {
        self.0.as_ref()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SessionId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SessionId {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        if Self::is_valid(&s) {
            Ok(SessionId(s))
        } else {
            Err(InvalidId(s))
        }
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> String {
        id.0
    }
}

impl PartialEq<str> for SessionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SessionId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for SessionId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(id: &str) -> String {
        InvalidId(id.into()).to_string()
    }

    #[test]
    fn an_invalid_id_is_quoted_escaped_and_cut() {
        assert_eq!(
            invalid("../x"),
            "invalid session id '../x': an id is hex digits and dashes"
        );
        assert_eq!(
            invalid("a\nb\x1b"),
            "invalid session id 'a\\nb\\u{1b}': an id is hex digits and dashes"
        );
        let forty = "a".repeat(ID_SHOWN);
        assert_eq!(
            invalid(&forty),
            format!("invalid session id '{forty}': an id is hex digits and dashes")
        );
        assert_eq!(
            invalid(&"a".repeat(10240)),
            format!(
                "invalid session id '{forty}…' (10240 characters): an id is hex digits and dashes"
            )
        );
        // Characters are counted, not bytes, and before they are escaped.
        assert_eq!(
            invalid(&"é".repeat(ID_SHOWN + 1)),
            format!(
                "invalid session id '{}…' (41 characters): an id is hex digits and dashes",
                "é".repeat(ID_SHOWN)
            )
        );
        assert_eq!(
            invalid(&"\n".repeat(50)),
            format!(
                "invalid session id '{}…' (50 characters): an id is hex digits and dashes",
                "\\n".repeat(ID_SHOWN)
            )
        );
    }

    #[test]
    fn only_hex_and_dashes_up_to_64_make_an_id() {
        for good in [
            "0b5e7a1c-0000-4000-8000-000000000001",
            "abc",
            "-",
            &"a".repeat(64),
        ] {
            assert!(SessionId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "abc/def", "g", "a b", ".", &"a".repeat(65), "é"] {
            assert_eq!(
                SessionId::parse(bad),
                Err(InvalidId(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn meta_json_with_a_bad_id_does_not_read() {
        let id: SessionId = serde_json::from_str("\"0b5e7a1c\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0b5e7a1c\"");
        let err = serde_json::from_str::<SessionId>("\"../../etc\"").unwrap_err();
        assert!(err.to_string().contains("invalid session id"), "{err}");
    }

    #[test]
    fn the_short_form_is_the_first_eight_characters_or_all_of_a_shorter_one() {
        let id = SessionId::random();
        assert_eq!(id.short().len(), 8);
        assert!(id.starts_with(id.short()));
        assert_eq!(short("abc"), "abc");
        assert_eq!(short("0123456789"), "01234567");
        // Not cut inside a character, however long the text given.
        assert_eq!(short("ééééé"), "éééé");
        assert_eq!(short("aéééé"), "aéééé");
    }
}
