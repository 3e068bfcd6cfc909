//! Colours, decided once per run: `--color`, then `NO_COLOR`, then whether
//! stdout is a terminal.

use std::io::IsTerminal;

pub(super) const BOLD: &str = "1";
pub(super) const DIM: &str = "2";
pub(super) const RED: &str = "31";
pub(super) const GREEN: &str = "32";
pub(super) const YELLOW: &str = "33";
pub(super) const BLUE: &str = "34";
pub(super) const CYAN: &str = "36";

#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub color: bool,
}

impl Style {
    pub(crate) fn decide(choice: crate::cli::ColorChoice) -> Self {
        use crate::cli::ColorChoice::*;
        let color = match choice {
            Always => true,
            Never => false,
            Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Style { color }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Appends `s` in colour `code`.
    pub(crate) fn paint_into(&self, out: &mut String, code: &str, s: &str) {
        self.start(out, code);
        out.push_str(s);
        self.end(out);
    }

    /// Starts colour `code` in `out`; [`Style::end`] ends it.
    pub(crate) fn start(&self, out: &mut String, code: &str) {
        if self.color {
            out.push_str("\x1b[");
            out.push_str(code);
            out.push('m');
        }
    }

    pub(crate) fn end(&self, out: &mut String) {
        if self.color {
            out.push_str("\x1b[0m");
        }
    }

    pub(crate) fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub(crate) fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub(crate) fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub(crate) fn red_bold(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    pub(crate) fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub(crate) fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub(crate) fn magenta(&self, s: &str) -> String {
        self.paint("35", s)
    }
    pub(crate) fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
}
