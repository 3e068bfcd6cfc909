//! Reading and writing `meta.json` bytes.

use super::*;
use crate::dir::{read_bounded, TooLarge};

/// The session in the folder `dir`, read with a bound on its size.
pub(super) fn load_in(dir: &Dir, id: &str, path: &Path) -> Result<Session> {
    let file = match dir.read_file(META) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::CorruptMeta {
                path: path.to_path_buf(),
                reason: "meta.json is missing".into(),
            })
        }
        Err(e) if e.kind() == ErrorKind::InvalidInput => {
            return Err(Error::CorruptMeta {
                path: path.to_path_buf(),
                reason: format!("meta.json: {e}"),
            })
        }
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let bytes = match read_bounded(file, MAX_META) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(TooLarge(size))) => {
            return Err(Error::MetaTooLarge {
                path: path.to_path_buf(),
                size,
                limit: MAX_META,
            })
        }
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let session = parse_meta(&bytes).map_err(|reason| Error::CorruptMeta {
        path: path.to_path_buf(),
        reason,
    })?;
    // A save writes to the folder the id names: a copied folder whose
    // meta.json still names the original would overwrite the original.
    if session.id != id {
        return Err(Error::CorruptMeta {
            path: path.to_path_buf(),
            reason: format!(
                "it names session {}, not {id}, the folder it is in",
                session.id.escape_debug()
            ),
        });
    }
    Ok(session)
}

pub(super) fn serialize(session: &Session) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(session).unwrap_or_default();
    text.push(b'\n');
    text
}

/// Parses `meta.json` bytes; the error says what is wrong in words.
pub(crate) fn parse_meta(bytes: &[u8]) -> std::result::Result<Session, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("meta.json is empty".into());
    }
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}
