//! `output`: a turn's raw JSONL (or stderr), byte for byte.

use crate::cli::OutputArgs;
use crate::error::{exit, Error};
use crate::render::Printer;
use crate::session::manager::Manager;
use anyhow::{Context, Result};
use std::fs::File;

pub fn output(manager: &Manager, a: &OutputArgs, p: &mut Printer) -> Result<i32> {
    let s = manager.get(&a.id)?;
    let turn = a.turn.unwrap_or(s.turn);
    if turn == 0 || turn > s.turn {
        return Err(Error::Usage(format!(
            "session {} has turns 1 to {}, not {turn}",
            s.short_id(),
            s.turn
        ))
        .into());
    }
    let path = if a.stderr {
        manager.store().stderr_path(&s.id, turn)
    } else {
        manager.store().turn_path(&s.id, turn)
    };
    match File::open(&path) {
        Ok(mut f) => {
            std::io::copy(&mut f, p.out())
                .with_context(|| format!("reading {}", path.display()))?;
        }
        // zwarm 2.3.5 wrote no stderr file: a missing one is no loss.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !a.stderr && !s.turn_may_lack_output(turn) {
                return Err(Error::MissingTurnFile {
                    id: s.id.into(),
                    turn,
                    path,
                }
                .into());
            }
        }
        Err(e) => return Err(Error::io("read", path, e).into()),
    }
    Ok(exit::OK)
}
