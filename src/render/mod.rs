//! All printing. Human tables and colours, decided once; JSON documents with
//! their own types. A closed stdout pipe ends output quietly.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub(crate) mod controls;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod steps;
mod style;

pub(crate) use style::Style;

use std::io::{self, Write};

/// Where command output goes, and how it looks.
pub(crate) struct Printer {
    pub json: bool,
    pub style: Style,
    out: io::BufWriter<io::Stdout>,
}

impl Printer {
    pub(crate) fn new(json: bool, style: Style) -> Self {
        Printer {
            json,
            style,
            out: io::BufWriter::new(io::stdout()),
        }
    }

    pub(crate) fn out(&mut self) -> &mut impl Write {
        &mut self.out
    }

    /// Writes `s` as it is (lines already ended).
    pub(crate) fn text(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    pub(crate) fn line(&mut self, s: &str) -> io::Result<()> {
        writeln!(self.out, "{s}")
    }

    pub(crate) fn json_doc<T: serde::Serialize>(&mut self, doc: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, doc)?;
        writeln!(self.out)
    }

    /// One compact JSON document and a newline: a line of NDJSON.
    pub(crate) fn json_line<T: serde::Serialize>(&mut self, doc: &T) -> io::Result<()> {
        self.json_piece(doc)?;
        writeln!(self.out)
    }

    /// Compact JSON and nothing after it: a piece of a document written in
    /// pieces.
    pub(crate) fn json_piece<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        Ok(serde_json::to_writer(&mut self.out, value)?)
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A notice for people, on stderr (never mixed into data on stdout).
pub(crate) fn notice(style: &Style, text: &str) {
    eprintln!("{}", style.dim(&controls::visible(text)));
}

/// A warning that does not stop the command.
pub(crate) fn warning(style: &Style, text: &str) {
    let text = controls::visible(text);
    eprintln!("{} {text}", style.yellow("zwarm: warning:"));
}

/// What a remote verb wrote on its stderr, passed on as it came (its own
/// errors and warnings, already neutralised there), but for its hints: a
/// command they suggest is one for that host, `host`, not for this one.
pub(crate) fn remote_stderr(bytes: &[u8], host: Option<&str>) {
    let _ = io::stderr().write_all(&for_host(bytes, host));
}

/// `bytes` with the commands of its hint lines made to run on `host`.
fn for_host<'a>(bytes: &'a [u8], host: Option<&str>) -> std::borrow::Cow<'a, [u8]> {
    let Some(host) = host.filter(|_| memchr::memmem::find(bytes, b"hint:").is_some()) else {
        return std::borrow::Cow::Borrowed(bytes);
    };
    let there = format!("`zwarm --host {host} ");
    let mut out = Vec::with_capacity(bytes.len() + 64);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        // `hint:` leads the line, after the dimming escape when in colour.
        let is_hint = line
            .get(..16.min(line.len()))
            .is_some_and(|head| memchr::memmem::find(head, b"hint:").is_some());
        match std::str::from_utf8(line) {
            Ok(text) if is_hint => {
                out.extend_from_slice(text.replace("`zwarm ", &there).as_bytes())
            }
            _ => out.extend_from_slice(line),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
#[test]
fn a_remotes_hints_name_its_host() {
    let err = b"zwarm: error: session 3f has turn 1 running\n\
        hint: wait for it with `zwarm wait 3f`, or stop it with `zwarm kill 3f`\n";
    assert_eq!(
        String::from_utf8_lossy(&for_host(err, Some("b1"))),
        "zwarm: error: session 3f has turn 1 running\n\
         hint: wait for it with `zwarm --host b1 wait 3f`, or stop it with `zwarm --host b1 kill 3f`\n"
    );
    let dim = b"\x1b[2mhint:\x1b[0m `zwarm list` shows them\n";
    assert_eq!(
        String::from_utf8_lossy(&for_host(dim, Some("b1"))),
        "\x1b[2mhint:\x1b[0m `zwarm --host b1 list` shows them\n"
    );
    // Only hints, and only for a remote.
    let said = b"zwarm: error: `zwarm list` failed\n";
    assert_eq!(&*for_host(said, Some("b1")), &said[..]);
    assert_eq!(&*for_host(err, None), &err[..]);
}

/// The one-line error `main` prints before exiting, and its hint. Errors,
/// like warnings and notices, quote agents' messages, file names and ids as
/// given: their control, bidi and invisible characters are shown visibly
/// (see [`controls`]).
pub(crate) fn error(style: &Style, text: &str, hint: Option<&str>) {
    let text = controls::visible(text);
    eprintln!("{} {text}", style.red_bold("zwarm: error:"));
    if let Some(h) = hint {
        eprintln!("{} {}", style.dim("hint:"), controls::visible(h));
    }
}

/// A shell completion script for the whole command line.
pub(crate) fn completions(shell: clap_complete::Shell) {
    use clap::CommandFactory;
    let full = crate::cli::Cli::command();
    // clap_complete offers hidden subcommands too; the internal supervisor
    // entry and the 2.3.5 spellings must not be suggested, so the command is
    // rebuilt without them.
    let mut cmd = clap::Command::new("zwarm")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    clap_complete::generate(shell, &mut cmd, "zwarm", &mut io::stdout());
}
