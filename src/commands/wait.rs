//! `wait`: block until sessions' current turns end. Each session gets a
//! thread asleep on its supervisor's lock, so the end is seen at once and no
//! CPU is spent meanwhile.

use super::watch::outcome_code;
use crate::error::{exit, Error};
use crate::model::Session;
use crate::render::{json, Printer};
use crate::session::manager::Manager;
use anyhow::Result;
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn wait(
    manager: &Manager,
    ids: &[String],
    any: bool,
    timeout: Option<Duration>,
    p: &mut Printer,
) -> Result<i32> {
    // Resolve every id first: a typo fails at once rather than after a wait.
    let ids: Vec<String> = ids
        .iter()
        .map(|i| manager.store().resolve(i))
        .collect::<Result<_, Error>>()?;
    let (tx, rx) = mpsc::channel();
    for (n, id) in ids.iter().enumerate() {
        let tx = tx.clone();
        let store = manager.store().clone();
        let id = id.clone();
        std::thread::spawn(move || {
            let _ = tx.send((n, Manager::new(store).block_until_ended(&id)));
        });
    }
    drop(tx);
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut ended: Vec<Option<Session>> = vec![None; ids.len()];
    let mut remaining = ids.len();
    let mut timed_out = false;
    while remaining > 0 {
        let got = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match got {
            Ok((n, result)) => {
                ended[n] = Some(result?);
                remaining -= 1;
                if any {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Sessions still running are reported as they stand.
    let mut sessions = Vec::with_capacity(ids.len());
    for (n, id) in ids.iter().enumerate() {
        sessions.push(match ended[n].take() {
            Some(s) => (s, true),
            None => {
                let s = manager.get(id)?;
                // A thread may not have reported yet what is already on
                // disk (with `--timeout 0` none has): after a timeout, only
                // what still runs is still waited for.
                let done = timed_out && !s.status.is_active();
                (s, done)
            }
        });
    }
    if timed_out {
        let done = sessions.iter().filter(|(_, done)| *done).count();
        timed_out = if any { done == 0 } else { done < ids.len() };
    }
    let code = if timed_out {
        exit::TIMEOUT
    } else {
        sessions
            .iter()
            .filter(|(_, done)| *done)
            .map(|(s, _)| outcome_code(s))
            .max()
            .unwrap_or(exit::OK)
    };
    if p.json {
        p.json_doc(&json::WaitJson {
            schema_version: json::SCHEMA_VERSION,
            timed_out,
            sessions: sessions.iter().map(|(s, _)| s.into()).collect(),
        })?;
    } else {
        let style = p.style;
        for (s, _) in &sessions {
            let mut line = format!(
                "{} {}",
                style.cyan(s.short_id()),
                crate::render::human::status_word(&style, s)
            );
            if let Some(e) = s.error.as_deref().filter(|_| !s.status.is_active()) {
                line.push_str(&format!(": {}", crate::render::human::one_line(e, 200)));
            }
            p.line(&line)?;
        }
        if timed_out {
            crate::render::notice(&style, "timed out");
        }
    }
    Ok(code)
}
