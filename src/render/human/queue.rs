//! A queued session's place, in words.

use crate::model::short;
use crate::session::manager::QueuePlace;
use crate::timefmt::Timestamp;
use std::fmt::Write as _;

/// After "queued" in `list`'s status cell: ` #3`, or ` after 3f2a1b2c`.
pub(crate) fn short_into(out: &mut String, q: &QueuePlace) {
    if q.after.is_empty() && (q.limited || q.waits_until.is_some()) {
        match q.waits_until {
            Some(t) => {
                let _ = write!(out, " until {}", t.clock_on(&Timestamp::now()));
            }
            None => out.push_str(" limited"),
        }
        return;
    }
    match (q.after.first(), q.position) {
        (Some(dep), _) => {
            let _ = write!(out, " after {}", short(dep));
            if q.after.len() > 1 {
                let _ = write!(out, " +{}", q.after.len() - 1);
            }
        }
        (None, Some(n)) => {
            let _ = write!(out, " #{n}");
        }
        (None, None) => {}
    }
}

/// `show`'s line: what it waits for.
pub(crate) fn describe(q: &QueuePlace) -> String {
    if !q.after.is_empty() {
        let ids: Vec<&str> = q.after.iter().map(|d| short(d)).collect();
        return format!("waiting for {} to complete", ids.join(", "));
    }
    match (q.limited, q.waits_until) {
        (true, Some(t)) => {
            return format!(
                "waiting for its agent's usage limit to lift at {}",
                t.clock_on(&Timestamp::now())
            )
        }
        (true, None) => {
            return "waiting for its agent's usage limit to lift (when is unknown: `zwarm retry` or a start by hand tries again)".into()
        }
        (false, Some(t)) => return format!("waiting until {}", t.clock_on(&Timestamp::now())),
        (false, None) => {}
    }
    let group = match q.group.as_str() {
        crate::queue::DEFAULT_GROUP => String::new(),
        g => format!(" of group {g}"),
    };
    let limit = q
        .max_running
        .map(|m| format!(" ({} of at most {m} running)", q.running))
        .unwrap_or_default();
    match q.position {
        Some(n) => format!("#{n} in line{group}{limit}"),
        None => format!("about to wait in line{group}{limit}"),
    }
}
