//! `trajectory`: the steps of each turn, streamed from the turn files.

use super::{check_turn, Ctx, Outcome};
use crate::cli::TrajectoryArgs;
use crate::error::Error;
use crate::render::{json, steps};
use crate::turn::OutputDetail;
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &TrajectoryArgs) -> Result<Outcome> {
    let Ctx { manager, p } = ctx;
    let s = manager.get(&a.id)?;
    let agent = s.agent()?;
    let turns: Vec<u32> = match a.turn {
        Some(t) => vec![check_turn(&s, t)?],
        None => (1..=s.turn).collect(),
    };
    // Checked before anything is written: a document cut short after some
    // turns' steps would pass for the whole trajectory.
    for &turn in &turns {
        let path = manager.store().turn_path(&s.id, turn);
        if matches!(path.try_exists(), Ok(false)) && !s.turn_may_lack_output(turn) {
            return Err(Error::MissingTurnFile {
                id: s.id.to_string(),
                turn,
                path,
            }
            .into());
        }
    }
    let style = p.style;
    if p.json {
        p.text(&json::trajectory_open(&s.id))?;
    }
    let mut first = true;
    let mut text = String::new();
    for turn in turns {
        let running = s.status.is_active() && turn == s.turn;
        let detail = if p.json {
            OutputDetail::Whole
        } else {
            steps::output_detail(a.full)
        };
        let mut parser = agent.parser(detail);
        let mut err: Option<std::io::Error> = None;
        if !p.json {
            p.line(&steps::turn_header(&style, turn))?;
        }
        let path = manager.store().turn_path(&s.id, turn);
        parser
            .read_turn(&path, !running, &mut |step| {
                if err.is_some() {
                    return;
                }
                let r = if p.json {
                    let sep = if first { "" } else { "," };
                    first = false;
                    p.text(sep)
                        .and_then(|()| p.json_piece(&json::step_json(turn, &step)))
                } else {
                    text.clear();
                    steps::step(&style, &step, a.full, &mut text);
                    p.text(&text)
                };
                if let Err(e) = r {
                    err = Some(e);
                }
            })
            .map_err(|e| Error::io("read", &path, e))?;
        if let Some(e) = err {
            return Err(e.into());
        }
    }
    if p.json {
        p.line(json::TRAJECTORY_CLOSE)?;
    }
    Ok(Outcome::OK)
}
