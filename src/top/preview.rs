//! The preview pane's text for the selected session: its latest turn's
//! steps (read on from where the last frame stopped, as `watch` reads),
//! its final message, the tail of its raw output, or its diff. Every line
//! is made safe for a terminal here, as human output makes it.

use super::app::View;
use crate::agent::Parser;
use crate::model::{Session, TurnRecord};
use crate::render::controls::visible;
use crate::render::{steps, Style};
use crate::session::manager::Manager;
use crate::session::snapshots::change;
use crate::store::TurnFile;
use crate::turn::TurnReader;
use std::io::{Read, Seek, SeekFrom};

/// The most lines kept: a pane shows a screenful, and a long turn has
/// hundreds of thousands.
const KEEP_LINES: usize = 2000;
/// How much of the end of the raw output is read.
const RAW_TAIL: u64 = 64 << 10;

/// What the pane shows, and what it was read from.
#[derive(Default)]
pub(crate) struct Preview {
    /// The pane's title.
    pub title: String,
    pub lines: Vec<String>,
    /// Whether the pane shows its last lines (a growing stream), or its first.
    pub tail: bool,
    /// What the lines were read for: (session, turn, view, the turn ended).
    key: Option<(String, u32, View, bool)>,
    steps: Option<StepsReader>,
}

struct StepsReader {
    parser: Parser,
    reader: TurnReader,
    /// Read to the end with the turn over: nothing more will come.
    done: bool,
}

impl Preview {
    /// Brings the pane up to date with session `id` and `view`: steps are
    /// read on from the last call, the rest read again only when the turn
    /// or its ending changed.
    pub(crate) fn refresh(&mut self, manager: &Manager, id: Option<&str>, view: View) {
        let Some(id) = id else {
            *self = Preview::default();
            return;
        };
        let s = match manager.store().load(id) {
            Ok(s) => s,
            Err(e) => {
                self.key = None;
                self.title = String::new();
                self.lines = vec![visible(&format!("cannot read the session: {e}")).into_owned()];
                return;
            }
        };
        let ended = !s.status.is_active();
        let key = (s.id.to_string(), s.turn, view, ended);
        let same_turn = self
            .key
            .as_ref()
            .is_some_and(|k| k.0 == key.0 && k.1 == key.1 && k.2 == key.2);
        self.title = format!(
            "{} · {} · turn {}",
            visible(s.short_id()),
            view.as_str(),
            s.turn
        );
        match view {
            View::Steps => {
                if !same_turn {
                    self.lines.clear();
                    self.steps = None;
                }
                self.tail = true;
                self.read_steps(manager, &s);
            }
            _ if self.key.as_ref() == Some(&key) => {}
            View::Final => {
                self.tail = false;
                self.lines = final_message(&s);
            }
            View::Raw => {
                self.tail = true;
                self.lines = raw_tail(manager, &s);
            }
            View::Diff => {
                self.tail = false;
                self.lines = diff(&s);
            }
        }
        self.key = Some(key);
    }

    /// Shows `lines`, read elsewhere (a remote session's): the next local
    /// session is read afresh.
    pub(crate) fn set(&mut self, title: String, lines: Vec<String>, tail: bool) {
        *self = Preview {
            title,
            lines,
            tail,
            ..Preview::default()
        };
    }

    /// A pane that shows `lines`, read from nothing (for rendering tests).
    #[cfg(test)]
    pub(crate) fn with_lines(title: &str, lines: Vec<String>, tail: bool) -> Preview {
        Preview {
            title: title.to_string(),
            lines,
            tail,
            ..Preview::default()
        }
    }

    fn read_steps(&mut self, manager: &Manager, s: &Session) {
        if self.steps.is_none() {
            let agent = match s.agent() {
                Ok(a) => a,
                Err(e) => {
                    self.lines = vec![visible(&e.to_string()).into_owned()];
                    return;
                }
            };
            self.steps = Some(StepsReader {
                parser: agent.parser(steps::output_detail(false)),
                reader: TurnReader::new(&manager.store().turn_path(&s.id, s.turn)),
                done: false,
            });
        }
        let Some(r) = self.steps.as_mut() else {
            return;
        };
        if r.done {
            return;
        }
        let complete = !s.status.is_active();
        let plain = Style { color: false };
        let mut text = String::new();
        let read = r.parser.read_more(&mut r.reader, complete, &mut |step| {
            steps::step(&plain, &step, false, &mut text);
        });
        r.done = complete;
        self.lines.extend(text.lines().map(str::to_string));
        if let Err(e) = read {
            self.lines
                .push(visible(&format!("cannot read the turn: {e}")).into_owned());
        }
        if self.lines.is_empty() && complete {
            self.lines.push("(no steps)".to_string());
        }
        let over = self.lines.len().saturating_sub(KEEP_LINES);
        self.lines.drain(..over);
    }
}

/// The latest turn's final message; while it runs, or with none, why not.
fn final_message(s: &Session) -> Vec<String> {
    let text = s
        .current_turn()
        .and_then(|t| t.final_message.as_deref())
        .or_else(|| {
            // A 2.3.5 session keeps its messages, not turn records.
            s.messages
                .iter()
                .rev()
                .find(|m| m.role == "assistant")
                .map(|m| m.content.as_str())
        });
    match text {
        Some(t) => visible(t).lines().map(str::to_string).collect(),
        None if s.status.is_active() => vec!["(the turn is still running)".to_string()],
        None => {
            let why = s
                .current_turn()
                .and_then(TurnRecord::error)
                .or(s.error.as_deref());
            let mut lines = vec!["(no final message)".to_string()];
            lines.extend(why.map(|e| visible(e).into_owned()));
            lines
        }
    }
}

/// The last lines of the latest turn's output, as the agent wrote them.
fn raw_tail(manager: &Manager, s: &Session) -> Vec<String> {
    let file = match manager
        .store()
        .open_turn_file(&s.id, s.turn, TurnFile::Output)
    {
        Ok(Some(f)) => f,
        Ok(None) => return vec!["(no output yet)".to_string()],
        Err(e) => return vec![visible(&e.to_string()).into_owned()],
    };
    let mut bytes = Vec::new();
    let read = (|| {
        let mut file = file;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(RAW_TAIL)))?;
        file.take(RAW_TAIL).read_to_end(&mut bytes)
    })();
    if let Err(e) = read {
        return vec![visible(&format!("cannot read the output: {e}")).into_owned()];
    }
    let text = String::from_utf8_lossy(&bytes);
    // The first line may have been cut by the tail.
    let skip = usize::from(bytes.len() as u64 == RAW_TAIL);
    text.lines()
        .skip(skip)
        .map(|l| visible(l).into_owned())
        .collect()
}

/// The session's change, as `zwarm diff` prints it; else why there is none.
fn diff(s: &Session) -> Vec<String> {
    match change(s, None, false, false) {
        Ok(c) if c.text.is_empty() => vec!["(no change)".to_string()],
        Ok(c) => String::from_utf8_lossy(&c.text)
            .lines()
            .map(|l| visible(l).into_owned())
            .collect(),
        Err(e) => vec![visible(&format!("no diff: {e}")).into_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::tests::session;
    use super::*;

    #[test]
    fn the_final_message_is_shown_made_visible_or_why_there_is_none() {
        let mut done = session("aa000001", "completed", "completed", "10:00:00", "10:05:00");
        done.turns[0].final_message = Some("All done.\nTests \x1b[32mpass\x1b[0m.".into());
        assert_eq!(
            final_message(&done),
            ["All done.", "Tests ^[[32mpass^[[0m."]
        );
        let running = session("aa000002", "running", "", "10:00:00", "");
        assert_eq!(final_message(&running), ["(the turn is still running)"]);
        let mut failed = session("aa000003", "failed", "failed", "10:00:00", "10:05:00");
        failed.error = Some("agent exited \u{202e}1".into());
        assert_eq!(
            final_message(&failed),
            ["(no final message)", "agent exited <U+202E>1"]
        );
    }
}
