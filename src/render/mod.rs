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

/// What a remote verb wrote on its stderr, passed on as it came: its own
/// errors and warnings, already neutralised there.
pub(crate) fn remote_stderr(bytes: &[u8]) {
    let _ = io::stderr().write_all(bytes);
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
