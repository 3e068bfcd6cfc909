//! Trajectory steps as text for people, appended to one buffer: a long turn
//! has hundreds of thousands of lines, so nothing here allocates per line.
//! Every text taken from the agent's output goes in through `push_visible` or
//! `one_line_into`, so that its control characters cannot act on the
//! terminal, nor its bidi and invisible ones hide what it says.

use super::controls::push_visible;
use super::human::{one_line_into, truncate};
use super::style::{Style, BLUE, BOLD, CYAN, DIM, GREEN, RED, YELLOW};
use crate::turn::lazy_text::{preview_str, Preview};
use crate::turn::{ItemStatus, OutputDetail, Step, StepKind};
use std::fmt::Write as _;

/// Short preview lengths when `--full` is not given.
const TEXT_PREVIEW: usize = 400;
const OUTPUT_LINES: usize = 8;
const OUTPUT_WIDTH: usize = 200;

/// What of commands' outputs `step` shows. All of it is a preview without
/// limits too, made as the lines are decoded: that decoding then runs on
/// the threads that read the turn, not on the one that writes it out (a
/// usual codex turn's `--full` 175 -> 138 ms on two cores).
pub(crate) fn output_detail(full: bool) -> OutputDetail {
    let (lines, width) = preview_limits(full);
    OutputDetail::Preview { lines, width }
}

pub(crate) fn turn_header(style: &Style, turn: u32) -> String {
    style.bold(&format!("── turn {turn} ──"))
}

/// Appends the lines that show `step`, each ending in a newline.
pub(crate) fn step(style: &Style, step: &Step, full: bool, out: &mut String) {
    let cut = |short: usize| if full { usize::MAX } else { short };
    match &step.kind {
        StepKind::Message { text } => {
            style.paint_into(out, GREEN, "agent:");
            out.push(' ');
            text_block(out, text, full);
        }
        StepKind::Reasoning { text } => {
            style.start(out, DIM);
            out.push_str("thinking: ");
            text_block(out, text, full);
            style.end(out);
        }
        StepKind::Command {
            command,
            output,
            exit_code,
            status,
        } => {
            style.paint_into(out, CYAN, "$");
            out.push(' ');
            one_line_into(out, command, cut(200));
            // No exit code (gemini never reports one): no trailing space.
            match exit_code {
                Some(0) => {
                    out.push(' ');
                    style.paint_into(out, DIM, "(exit 0)");
                }
                Some(c) => {
                    out.push(' ');
                    style.start(out, RED);
                    let _ = write!(out, "(exit {c})");
                    style.end(out);
                }
                None => {}
            }
            status_mark(out, style, *status);
            out.push('\n');
            let (lines, width) = preview_limits(full);
            indent(out, style, &output.preview(lines, width));
            return;
        }
        StepKind::FileChange { changes, status } => {
            style.paint_into(out, YELLOW, "edit:");
            out.push(' ');
            for (i, c) in changes.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_visible(out, &c.kind);
                out.push(' ');
                push_visible(out, &c.path);
            }
            status_mark(out, style, *status);
        }
        StepKind::ToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
            parent,
        } => {
            if parent.is_some() {
                out.push_str("  ↳ ");
            }
            style.paint_into(out, BLUE, "tool:");
            out.push(' ');
            if let Some(s) = server {
                push_visible(out, s);
                out.push('.');
            }
            push_visible(out, tool);
            out.push(' ');
            if !arguments.is_null() {
                one_line_into(out, &arguments.to_string(), cut(120));
            }
            status_mark(out, style, *status);
            out.push('\n');
            if let Some(e) = error {
                out.push_str("    ");
                style.start(out, RED);
                one_line_into(out, e, 300);
                style.end(out);
                out.push('\n');
            } else if let Some(r) = result {
                let (lines, width) = preview_limits(full);
                indent(out, style, &preview_str(r, lines, width));
            }
            return;
        }
        StepKind::WebSearch { query, status } => {
            style.paint_into(out, BLUE, "search:");
            out.push(' ');
            push_visible(out, query);
            status_mark(out, style, *status);
        }
        StepKind::Plan { items } => {
            style.paint_into(out, BOLD, "plan:");
            for i in items {
                let mark = match i.status.as_str() {
                    "completed" => "[x]",
                    "in_progress" => "[~]",
                    _ => "[ ]",
                };
                let _ = write!(out, "\n  {mark} ");
                push_visible(out, &i.text);
            }
        }
        StepKind::Warning { message } => {
            style.start(out, YELLOW);
            out.push_str("warning: ");
            one_line_into(out, message, 300);
            style.end(out);
        }
        StepKind::Error { message } => {
            style.start(out, RED);
            out.push_str("error: ");
            one_line_into(out, message, cut(300));
            style.end(out);
        }
        StepKind::Other { kind, .. } => {
            style.start(out, DIM);
            out.push('(');
            push_visible(out, kind);
            out.push(')');
            style.end(out);
        }
    }
    out.push('\n');
}

fn status_mark(out: &mut String, style: &Style, st: ItemStatus) {
    match st {
        ItemStatus::Completed => {}
        ItemStatus::InProgress => style.paint_into(out, YELLOW, " (did not finish)"),
        ItemStatus::Failed => style.paint_into(out, RED, " (failed)"),
        ItemStatus::Declined => style.paint_into(out, YELLOW, " (declined)"),
    }
}

fn text_block(out: &mut String, text: &str, full: bool) {
    if full {
        push_visible(out, text);
    } else {
        push_visible(out, &truncate(text.trim(), TEXT_PREVIEW));
    }
}

/// How much of a command's output or a tool's result is shown: lines, and
/// chars of each.
fn preview_limits(full: bool) -> (usize, usize) {
    if full {
        (usize::MAX, usize::MAX)
    } else {
        (OUTPUT_LINES, OUTPUT_WIDTH)
    }
}

/// What indenting adds to a line at most: the indent, the dim style's start
/// and end, the newline.
const INDENTED_LINE: usize = 13;

/// The preview's lines, indented and dimmed, and how many were left out.
fn indent(out: &mut String, style: &Style, preview: &Preview) {
    // Room made at once: a `--full` output of megabytes grown by doubling
    // would hold up to twice its size.
    out.reserve(preview.text_len() + preview.lines_shown() * INDENTED_LINE);
    for line in preview.lines() {
        style.start(out, DIM);
        out.push_str("    ");
        push_visible(out, line);
        style.end(out);
        out.push('\n');
    }
    if preview.more > 0 {
        style.start(out, DIM);
        let _ = write!(out, "    … {} more lines", preview.more);
        style.end(out);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, full: bool) -> Vec<String> {
        let (lines, width) = preview_limits(full);
        let mut out = String::new();
        indent(
            &mut out,
            &Style { color: false },
            &preview_str(text, lines, width),
        );
        out.lines().map(str::to_string).collect()
    }

    #[test]
    fn indent_shows_the_first_lines_and_counts_the_rest() {
        let text = "a\r\n\nb\n".to_string() + &"x\n".repeat(20) + "y\r\n \n";
        let all: Vec<String> = text
            .trim_end()
            .lines()
            .map(|l| format!("    {l}"))
            .collect();
        assert_eq!(lines(&text, true), all);
        let mut short = all[..OUTPUT_LINES].to_vec();
        short.push(format!("    … {} more lines", all.len() - OUTPUT_LINES));
        assert_eq!(lines(&text, false), short);
        assert_eq!(lines("one", false), ["    one"]);
        assert!(lines(" \n ", false).is_empty());
        let long = "é".repeat(OUTPUT_WIDTH + 1);
        let cut = "é".repeat(OUTPUT_WIDTH - 1) + "…";
        assert_eq!(lines(&long, false), [format!("    {cut}")]);
    }

    #[test]
    fn previews_cut_the_text_then_show_what_is_kept() {
        // The width counts the agent's characters: each kept is shown whole.
        let long = "\u{200b}".repeat(OUTPUT_WIDTH + 1);
        let cut = "<U+200B>".repeat(OUTPUT_WIDTH - 1) + "…";
        assert_eq!(lines(&long, false), [format!("    {cut}")]);
        let message = StepKind::Message {
            text: format!("{}\u{202e}{}", "é".repeat(10), "x".repeat(TEXT_PREVIEW)),
        };
        let mut out = String::new();
        let step = Step {
            line: 1,
            kind: message,
        };
        super::step(&Style { color: false }, &step, false, &mut out);
        let kept = "x".repeat(TEXT_PREVIEW - 1 - 11);
        assert_eq!(out, format!("agent: {}<U+202E>{kept}…\n", "é".repeat(10)));
    }

    #[test]
    fn colours_wrap_each_line() {
        let step = Step {
            line: 3,
            kind: StepKind::Command {
                command: "ls  -l\n".into(),
                output: "a\nb\n".into(),
                exit_code: Some(2),
                status: ItemStatus::Failed,
            },
        };
        let mut out = String::new();
        super::step(&Style { color: true }, &step, false, &mut out);
        assert_eq!(
            out,
            "\x1b[36m$\x1b[0m ls -l \x1b[31m(exit 2)\x1b[0m\x1b[31m (failed)\x1b[0m\n\
             \x1b[2m    a\x1b[0m\n\x1b[2m    b\x1b[0m\n"
        );
        out.clear();
        super::step(&Style { color: false }, &step, false, &mut out);
        assert_eq!(out, "$ ls -l (exit 2) (failed)\n    a\n    b\n");
    }

    #[test]
    fn a_command_without_an_exit_code_ends_at_its_status() {
        let out = |status| {
            let kind = StepKind::Command {
                command: "echo hi".into(),
                output: "hi\n".into(),
                exit_code: None,
                status,
            };
            let mut out = String::new();
            super::step(
                &Style { color: false },
                &Step { line: 1, kind },
                false,
                &mut out,
            );
            out
        };
        assert_eq!(out(ItemStatus::Completed), "$ echo hi\n    hi\n");
        assert_eq!(
            out(ItemStatus::InProgress),
            "$ echo hi (did not finish)\n    hi\n"
        );
    }

    #[test]
    fn controls_from_the_agent_show_inside_zwarm_colours() {
        let out = |kind: StepKind, color: bool| {
            let mut out = String::new();
            super::step(&Style { color }, &Step { line: 1, kind }, false, &mut out);
            out
        };
        let command = StepKind::Command {
            command: "printf '\x1b]52;c;aGk=\x07'".into(),
            output: "\x1b[1A\x1b[2Kok\r\nhidden\rshown\n".into(),
            exit_code: Some(0),
            status: ItemStatus::Completed,
        };
        assert_eq!(
            out(command.clone(), true),
            "\x1b[36m$\x1b[0m printf '^[]52;c;aGk=^G' \x1b[2m(exit 0)\x1b[0m\n\
             \x1b[2m    ^[[1A^[[2Kok\x1b[0m\n\x1b[2m    hidden^Mshown\x1b[0m\n"
        );
        assert_eq!(
            out(command, false),
            "$ printf '^[]52;c;aGk=^G' (exit 0)\n    ^[[1A^[[2Kok\n    hidden^Mshown\n"
        );
        let message = StepKind::Message {
            text: "done\x1b[8m secret\n\tnext\u{9d}".into(),
        };
        assert_eq!(
            out(message, true),
            "\x1b[32magent:\x1b[0m done^[[8m secret\n\tnext<U+009D>\n"
        );
        let other = StepKind::Other {
            kind: "x\x1b[2J".into(),
            raw: serde_json::Value::Null,
        };
        assert_eq!(out(other, false), "(x^[[2J)\n");
    }
}
