//! Codex's event stream applied in order, its lines decoded on their own
//! (`decode`): started and completed items paired, the turn's summary kept.

use super::decode::{decode, Decoded};
use super::line::{ItemId, ItemLine, Line};
use crate::turn::lazy_text::SharedLine;
use crate::turn::StreamParser;
use crate::turn::{Outcome, OutputDetail, Step, StepKind, TurnSummary};
use serde_json::Value;

pub(crate) struct CodexParser {
    detail: OutputDetail,
    summary: TurnSummary,
    /// Items started and not yet completed, in the order they started.
    open: Vec<(ItemId, Step)>,
}

impl CodexParser {
    pub(crate) fn new(detail: OutputDetail) -> Self {
        CodexParser {
            detail,
            summary: TurnSummary::default(),
            open: Vec::new(),
        }
    }
}

impl Default for CodexParser {
    fn default() -> Self {
        CodexParser::new(OutputDetail::Whole)
    }
}

impl CodexParser {
    fn handle(&mut self, lineno: u64, line: Line, emit: &mut dyn FnMut(Step)) {
        let Line { kind, rest, item } = line;
        let rest = rest.map(|r| *r).unwrap_or_default();
        let is_retry = kind == "error"
            && rest
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("Reconnecting..."));
        if is_retry {
            self.summary.retries_since_progress += 1;
            self.summary.last_retry = rest.message.clone();
        } else {
            self.summary.retries_since_progress = 0;
        }
        let step = |kind| Step { line: lineno, kind };
        match &*kind {
            "thread.started" => self.summary.agent_session_id = rest.thread_id,
            "turn.started" => {}
            "turn.completed" => {
                self.summary.outcome = Some(Outcome::Completed);
                if let Some(u) = rest.usage {
                    self.summary.usage = Some(u.into());
                }
            }
            "turn.failed" => {
                let message = rest
                    .error
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| "the turn failed".into());
                // The same text usually arrived just before as an `error` event.
                if self.summary.last_error.as_deref() != Some(message.as_str()) {
                    emit(step(StepKind::Error {
                        message: message.clone(),
                    }));
                }
                self.note_limit(&message);
                self.summary.last_error = Some(message.clone());
                self.summary.outcome = Some(Outcome::Failed(message));
                if let Some(u) = rest.usage {
                    self.summary.usage = Some(u.into());
                }
            }
            "error" => {
                let message = rest.message.unwrap_or_default();
                if is_retry {
                    emit(step(StepKind::Warning { message }));
                } else {
                    // Said before `turn.failed`, and all there is if codex
                    // dies before writing that.
                    self.note_limit(&message);
                    self.summary.last_error = Some(message.clone());
                    emit(step(StepKind::Error { message }));
                }
            }
            "item.started" | "item.updated" | "item.completed" => {
                let Some(item) = item else {
                    emit(step(StepKind::Other {
                        kind: kind.into_owned(),
                        raw: Value::Null,
                    }));
                    return;
                };
                self.item(lineno, &kind, *item, emit);
            }
            _ => emit(step(StepKind::Other {
                kind: kind.into_owned(),
                raw: Value::Null,
            })),
        }
    }

    /// A fatal message that names the account's limit.
    fn note_limit(&mut self, message: &str) {
        if let Some(limit) = super::limit::usage_limit(message) {
            self.summary.usage_limit = Some(limit);
        }
    }

    fn item(&mut self, lineno: u64, event: &str, item: ItemLine, emit: &mut dyn FnMut(Step)) {
        let key = item.id;
        let open_at = self
            .open
            .iter()
            .position(|(k, _)| *k == key && !key.is_none());
        let line = open_at.map(|i| self.open[i].1.line).unwrap_or(lineno);
        let done = event == "item.completed";
        if let (true, StepKind::Message { text }) = (done, &item.step) {
            self.summary.messages.push(text.clone());
        }
        let step = Step {
            line,
            kind: item.step,
        };
        match (done, open_at) {
            (true, Some(i)) => {
                self.open.remove(i);
                emit(step);
            }
            (true, None) => emit(step),
            (false, Some(i)) => self.open[i].1 = step,
            (false, None) => self.open.push((key, step)),
        }
    }
}

impl StreamParser for CodexParser {
    type Line = Decoded;

    fn decode(line: &[u8], detail: OutputDetail) -> Decoded {
        decode(line, detail, None)
    }

    fn decode_in(line: &[u8], whole: &SharedLine, detail: OutputDetail) -> Decoded {
        decode(line, detail, Some(whole))
    }

    fn detail(&self) -> OutputDetail {
        self.detail
    }

    fn apply(&mut self, lineno: u64, line: Decoded, emit: &mut dyn FnMut(Step)) {
        // Most lines of a long turn of tiny lines: what `handle` does with
        // such a line, told from a borrow. Moving each line of a couple of
        // hundred bytes into `handle`, and making an empty `Rest` there, was
        // a tenth of the time of reading them.
        if let Decoded::Event(Line {
            kind,
            rest: None,
            item: None,
        }) = &line
        {
            if kind == "turn.started" {
                self.summary.events += 1;
                self.summary.retries_since_progress = 0;
                return;
            }
        }
        match line {
            Decoded::Event(ev) => {
                self.summary.events += 1;
                self.handle(lineno, ev, emit);
            }
            Decoded::Json(raw) => {
                self.summary.events += 1;
                let kind = raw
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string();
                emit(Step {
                    line: lineno,
                    kind: StepKind::Other { kind, raw },
                });
            }
            _ => self.summary.skipped_lines += 1,
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Step)) {
        for (_, step) in self.open.drain(..) {
            emit(step);
        }
    }

    fn summary(&self) -> &TurnSummary {
        &self.summary
    }
}
