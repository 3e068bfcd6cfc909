//! What a launcher hands its supervisor: the turn to run, on stdin, and the
//! session's write lock, at a known descriptor; and how long a stopped
//! agent is given. Shared by both sides, owned by neither.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// How long the agent gets to exit after SIGTERM before its group is killed.
pub(crate) const GRACE_SECS: u32 = 5;

/// The descriptor on which a supervisor receives the session's write lock.
pub(crate) const LOCK_FD: i32 = 3;

/// What a launcher asks of its supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LaunchRequest {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub working_dir: PathBuf,
    /// What the agent reads on its stdin; None: nothing (`/dev/null`).
    pub stdin: Option<Vec<u8>>,
}

const REQUEST_MAGIC: &[u8] = b"zwarm-launch 1\n";

impl LaunchRequest {
    /// Length-prefixed fields: exact for any bytes, no quoting to get wrong.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = REQUEST_MAGIC.to_vec();
        let mut field = |bytes: &[u8]| {
            out.extend_from_slice(bytes.len().to_string().as_bytes());
            out.push(b'\n');
            out.extend_from_slice(bytes);
        };
        field(self.program.as_bytes());
        field(self.working_dir.as_os_str().as_bytes());
        field(self.args.len().to_string().as_bytes());
        for a in &self.args {
            field(a.as_bytes());
        }
        match &self.stdin {
            Some(bytes) => {
                field(b"1");
                field(bytes);
            }
            None => field(b"0"),
        }
        out
    }

    pub(crate) fn decode(mut bytes: &[u8]) -> Option<LaunchRequest> {
        bytes = bytes.strip_prefix(REQUEST_MAGIC)?;
        let request = {
            let mut field = || -> Option<Vec<u8>> {
                let nl = bytes.iter().position(|&b| b == b'\n')?;
                let len: usize = std::str::from_utf8(&bytes[..nl]).ok()?.parse().ok()?;
                let value = bytes.get(nl + 1..nl + 1 + len)?.to_vec();
                bytes = &bytes[nl + 1 + len..];
                Some(value)
            };
            let program = OsString::from_vec(field()?);
            let working_dir = PathBuf::from(OsString::from_vec(field()?));
            let argc: usize = String::from_utf8(field()?).ok()?.parse().ok()?;
            let mut args = Vec::with_capacity(argc.min(1024));
            for _ in 0..argc {
                args.push(OsString::from_vec(field()?));
            }
            let stdin = match field()?.as_slice() {
                b"1" => Some(field()?),
                b"0" => None,
                _ => return None,
            };
            LaunchRequest {
                program,
                args,
                working_dir,
                stdin,
            }
        };
        // Nothing may follow: a request cut or padded is not the one sent.
        bytes.is_empty().then_some(request)
    }
}

#[cfg(test)]
mod tests;
