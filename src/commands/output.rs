//! `output`: a turn's raw JSONL (or stderr), byte for byte.

use super::{check_turn, Ctx, Outcome};
use crate::cli::OutputArgs;
use crate::error::Error;
use anyhow::{Context, Result};
use std::fs::File;

pub(crate) fn run(ctx: &mut Ctx, a: &OutputArgs) -> Result<Outcome> {
    let s = ctx.manager.get(&a.id)?;
    let turn = check_turn(&s, a.turn.unwrap_or(s.turn))?;
    let path = if a.stderr {
        ctx.manager.store().stderr_path(&s.id, turn)
    } else {
        ctx.manager.store().turn_path(&s.id, turn)
    };
    match File::open(&path) {
        Ok(mut f) => {
            std::io::copy(&mut f, ctx.p.out())
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
    Ok(Outcome::OK)
}
