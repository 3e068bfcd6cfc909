//! `show`: one session in full.

use super::{age, agent_name, limited_until, one_line, status_word, thousands};
use crate::model::Session;
use crate::render::controls::visible;
use crate::render::Style;
use crate::session::manager::QueuePlace;
use crate::session::stall::Stall;
use crate::timefmt::compact_duration;

pub(crate) fn show(
    style: &Style,
    s: &Session,
    stall: Option<&Stall>,
    place: Option<&QueuePlace>,
) -> Vec<String> {
    let mut out = Vec::new();
    let kv = |k: &str, v: String| format!("{} {v}", style.bold(&format!("{k:<10}")));
    out.push(kv("session", style.cyan(&visible(&s.id))));
    let status = match limited_until(s) {
        Some(limited) => format!("{} ({limited})", status_word(style, s)),
        None => status_word(style, s),
    };
    out.push(kv("status", status));
    if let Some(q) = place {
        out.push(kv("queued", super::queue::describe(q)));
    }
    if let Some(st) = stall {
        let mut text = format!(
            "only retrying for {} ({} retries)",
            compact_duration(st.since.age_seconds()),
            st.retries
        );
        if let Some(r) = &st.last_retry {
            text.push_str(&format!(": {}", one_line(r, 160)));
        }
        out.push(kv("stalled", style.yellow(&text)));
    }
    out.push(kv(
        "agent",
        format!(
            "{}{}",
            visible(agent_name(s)),
            match s
                .turns
                .iter()
                .rev()
                .find_map(|t| t.reported_model.as_deref())
            {
                _ if !s.model.is_empty() => format!(" ({})", visible(&s.model)),
                Some(default) => format!(" ({}, its default)", one_line(default, 80)),
                None => String::new(),
            }
        ),
    ));
    out.push(kv("task", one_line(&s.task, 200)));
    out.push(kv("dir", visible(&s.working_dir).into_owned()));
    if let Some(w) = &s.worktree {
        let mut state = Vec::new();
        match w.dirty {
            Some(true) => state.push("uncommitted changes".to_string()),
            Some(false) => state.push("clean".to_string()),
            None => {}
        }
        if let Some(n) = w.ahead {
            state.push(format!("{n} commit{} ahead", if n == 1 { "" } else { "s" }));
        }
        let state = if state.is_empty() {
            String::new()
        } else {
            format!(" ({})", state.join(", "))
        };
        out.push(kv(
            "worktree",
            format!(
                "branch {} from {}{state}",
                visible(&w.branch),
                visible(w.base.get(..12).unwrap_or(&w.base))
            ),
        ));
    } else if s.snapshots {
        // Other writers' changes mix into what its turns changed.
        out.push(kv("checkout", "shared checkout".to_string()));
    }
    out.push(kv("created", s.created_at.to_string()));
    out.push(kv("age", age(s)));
    if let Some(id) = &s.agent_session_id {
        out.push(kv("thread", visible(id).into_owned()));
    }
    let u = &s.token_usage;
    if !u.is_empty() {
        let mut t = format!(
            "{} in, {} out, {} total",
            thousands(u.input_tokens),
            thousands(u.output_tokens),
            thousands(u.total_tokens)
        );
        if u.cached_input_tokens > 0 {
            t.push_str(&format!(" ({} cached)", thousands(u.cached_input_tokens)));
        }
        if u.cache_read_input_tokens + u.cache_creation_input_tokens > 0 {
            t.push_str(&format!(
                " (cache: {} read, {} written)",
                thousands(u.cache_read_input_tokens),
                thousands(u.cache_creation_input_tokens)
            ));
        }
        out.push(kv("tokens", t));
    }
    if let Some(c) = s.cost_usd {
        out.push(kv("cost", format!("${c:.4}")));
    }
    if let Some(b) = super::budget::used_of(s) {
        out.push(kv("budget", b));
    }
    if let Some(e) = &s.error {
        out.push(kv("error", style.red(&visible(e))));
    }
    if !s.turns.is_empty() {
        out.push(String::new());
        out.push(style.bold("turns"));
        for t in &s.turns {
            let ending = t.ending().map(|e| e.as_str()).unwrap_or("running");
            let exit = match t.exit() {
                Some(crate::model::ExitStatus::Code(c)) => format!(", exit {c}"),
                Some(crate::model::ExitStatus::Signal(sig)) => {
                    format!(", {}", crate::process::signal_name(sig))
                }
                None => String::new(),
            };
            let dur = match (t.started_at, t.ended_at()) {
                (Some(a), Some(b)) => format!(", {}", compact_duration(a.seconds_until(&b))),
                _ => String::new(),
            };
            let tokens = t
                .usage
                .as_ref()
                .map(|u| format!(", {} tokens", thousands(u.total_tokens)))
                .unwrap_or_default();
            let skipped = match t.skipped_lines {
                0 => String::new(),
                1 => ", 1 unreadable line skipped".to_string(),
                n => format!(", {n} unreadable lines skipped"),
            };
            let changed = t
                .snapshot
                .as_ref()
                .and_then(|s| s.changes)
                .map(|c| {
                    format!(
                        ", {} file{} changed (+{} -{})",
                        c.files,
                        if c.files == 1 { "" } else { "s" },
                        c.insertions,
                        c.deletions
                    )
                })
                .unwrap_or_default();
            out.push(format!(
                "  {:>3}  {ending}{exit}{dur}{tokens}{changed}{skipped}",
                t.turn
            ));
            if let Some(e) = t.snapshot.as_ref().and_then(|s| s.error.as_deref()) {
                out.push(format!("       {}", style.yellow(&one_line(e, 300))));
            }
            if let Some(left) = t
                .snapshot
                .as_ref()
                .map(|s| &s.left_out)
                .filter(|l| !l.is_empty())
            {
                let names: Vec<_> = left.iter().map(|f| visible(f).into_owned()).collect();
                out.push(format!(
                    "       {}",
                    style.dim(&format!(
                        "left out of the snapshots (over 10 MiB): {}",
                        names.join(", ")
                    ))
                ));
            }
            if let Some(e) = t.error() {
                out.push(format!("       {}", style.red(&one_line(e, 300))));
            }
        }
    }
    if !s.messages.is_empty() {
        out.push(String::new());
        out.push(style.bold("messages"));
        for m in &s.messages {
            let who = match m.role.as_str() {
                "user" => style.magenta("user"),
                "assistant" => style.green("agent"),
                other => style.dim(&visible(other)),
            };
            out.push(format!("  {who}: {}", one_line(&m.content, 300)));
        }
    }
    out
}
