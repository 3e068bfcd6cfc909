//! What a zwarm run printed: [`Ran`] checks its exit code, stdout and
//! stderr together ([`Ran::expect`]), and the helpers below read its
//! streams and `--json` documents.

use serde_json::Value;
use std::ops::Deref;
use std::process::Output;

/// A zwarm run: what it was asked and what it did.
#[derive(Debug)]
pub struct Ran {
    args: Vec<String>,
    out: Output,
}

impl Deref for Ran {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.out
    }
}

/// What a stream must hold, for [`Ran::expect`].
#[derive(Clone, Copy, Debug)]
pub enum Text<'a> {
    /// Anything.
    Any,
    /// Exactly this.
    Is(&'a str),
    /// This, somewhere.
    Has(&'a str),
    /// Starts with this.
    StartsWith(&'a str),
}

/// Any text.
pub const ANY: Text = Text::Any;
/// Nothing at all.
pub const EMPTY: Text = Text::Is("");

/// Text that holds `needle`.
pub fn has(needle: &str) -> Text<'_> {
    Text::Has(needle)
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Text<'a> {
        Text::Is(s)
    }
}

impl<'a> From<&'a String> for Text<'a> {
    fn from(s: &'a String) -> Text<'a> {
        Text::Is(s)
    }
}

impl Text<'_> {
    fn holds(&self, text: &str) -> bool {
        match *self {
            Text::Any => true,
            Text::Is(want) => text == want,
            Text::Has(needle) => text.contains(needle),
            Text::StartsWith(head) => text.starts_with(head),
        }
    }
}

impl Ran {
    pub fn of(args: &[&str], out: Output) -> Ran {
        Ran {
            args: args.iter().map(|a| a.to_string()).collect(),
            out,
        }
    }

    /// The exit code (a run killed by a signal fails the test).
    #[track_caller]
    pub fn code(&self) -> i32 {
        self.out
            .status
            .code()
            .unwrap_or_else(|| panic!("zwarm {:?} was killed: {:?}", self.args, self.out.status))
    }

    pub fn stdout(&self) -> String {
        stdout(&self.out)
    }

    pub fn stderr(&self) -> String {
        stderr(&self.out)
    }

    /// Asserts the exit code, stdout and stderr at once, showing all three
    /// when one is wrong.
    #[track_caller]
    pub fn expect<'a>(
        &self,
        code: i32,
        stdout: impl Into<Text<'a>>,
        stderr: impl Into<Text<'a>>,
    ) -> &Self {
        let (want_out, want_err) = (stdout.into(), stderr.into());
        let (out, err) = (self.stdout(), self.stderr());
        let wrong: Vec<String> = [
            (self.out.status.code() != Some(code)).then(|| format!("exit code, not {code}")),
            (!want_out.holds(&out)).then(|| format!("stdout, not {want_out:?}")),
            (!want_err.holds(&err)).then(|| format!("stderr, not {want_err:?}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(
            wrong.is_empty(),
            "zwarm {:?}: wrong {}\nexit: {:?}\nstdout: {out}\nstderr: {err}",
            self.args,
            wrong.join(", "),
            self.out.status.code()
        );
        self
    }

    /// stdout, parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        json_of(&self.out)
    }
}

/// stdout of an output, lossily.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr of an output, lossily.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout of an output, parsed as JSON.
#[track_caller]
pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(out), stderr(out)))
}

/// Asserts the exit code, showing both streams when it is wrong.
#[track_caller]
pub fn expect(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// The error of a failed command, after checking stderr holds nothing but
/// `zwarm: error: ...` and at most a `hint:` line.
#[track_caller]
pub fn error_of(out: &Output) -> String {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(matches!(lines.len(), 1 | 2), "not one error line: {err}");
    let msg = lines[0]
        .strip_prefix("zwarm: error: ")
        .unwrap_or_else(|| panic!("no error line: {err}"));
    if let Some(hint) = lines.get(1) {
        assert!(hint.starts_with("hint: "), "{err}");
    }
    msg.to_string()
}

/// The session `id` in a `list --json` document.
#[track_caller]
pub fn session_in<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {list}"))
}

/// The ids of a `list --json` document's sessions, in order.
pub fn listed_ids(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// The problems a `doctor --json` document reports for `id`, as kinds.
pub fn doctor_kinds(doc: &Value, id: &str) -> Vec<String> {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["session"] == id)
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The problem a `doctor --json` document reports for `id`.
#[track_caller]
pub fn doctor_problem<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["session"] == id)
        .unwrap_or_else(|| panic!("doctor says nothing of {id}: {doc:#}"))
}
