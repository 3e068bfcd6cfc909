//! `kill` and `rm`: per-id results; one id failing does not stop the others.

use crate::cli::KillArgs;
use crate::error::{exit, Error};
use crate::model::Session;
use crate::render::{self, json, Printer};
use crate::session::manager::Manager;
use anyhow::Result;

struct Outcome {
    id: String,
    result: Result<Done, Error>,
}

/// What was done to one session.
struct Done {
    session: Session,
    /// Set by `kill`: the agent was stopped, but its ending could not be
    /// written down (a full disk, a read-only store).
    unrecorded: Option<Error>,
    /// Whether this was a kill (the agent's processes are known gone).
    killed: bool,
}

pub fn kill(manager: &Manager, a: &KillArgs, p: &mut Printer) -> Result<i32> {
    let ids: Vec<String> = if a.all {
        let (sessions, _) = manager.list()?;
        sessions
            .into_iter()
            .filter(|s| s.status.is_active())
            .map(|s| s.id.into())
            .collect()
    } else {
        a.ids.clone()
    };
    let mut outcomes = Vec::new();
    for given in ids {
        outcomes.push(act_on(manager, given, |id| {
            let killed = manager.kill(id)?;
            if a.delete {
                manager.delete(&killed.session.id)?;
            }
            Ok(Done {
                session: killed.session,
                // A removed session has nowhere left to record anything.
                unrecorded: killed.unrecorded.filter(|_| !a.delete),
                killed: true,
            })
        }));
    }
    report(
        p,
        outcomes,
        if a.delete {
            "killed and removed"
        } else {
            "killed"
        },
        a.all,
    )
}

pub fn remove(manager: &Manager, ids: &[String], force: bool, p: &mut Printer) -> Result<i32> {
    let outcomes = ids
        .iter()
        .map(|given| {
            act_on(manager, given.clone(), |id| {
                Ok(Done {
                    session: manager.remove(id, force)?,
                    unrecorded: None,
                    killed: false,
                })
            })
        })
        .collect();
    report(p, outcomes, "removed", false)
}

/// Resolves `given` and acts on the session it names; the outcome carries
/// the full id, or the id as given when it names no session.
fn act_on(
    manager: &Manager,
    given: String,
    action: impl FnOnce(&str) -> Result<Done, Error>,
) -> Outcome {
    match manager.store().resolve(&given) {
        Ok(id) => {
            let result = action(&id);
            Outcome { id, result }
        }
        Err(e) => Outcome {
            id: given,
            result: Err(e),
        },
    }
}

fn report(p: &mut Printer, outcomes: Vec<Outcome>, verb: &str, all: bool) -> Result<i32> {
    let mut code = exit::OK;
    let mut results = Vec::new();
    if all && outcomes.is_empty() && !p.json {
        render::notice(&p.style, "no running sessions");
    }
    for o in outcomes {
        match o.result {
            Ok(Done {
                session: s,
                unrecorded: Some(e),
                ..
            }) => {
                // Stopped, but not written down: a failure, said so.
                code = code.max(exit::FAILURE);
                let why = format!(
                    "stopped session {}'s agent, but could not record its ending: {e}",
                    s.short_id()
                );
                if !p.json {
                    p.flush()?;
                    render::error(
                        &p.style,
                        &why,
                        Some("its supervisor keeps trying, and records it once the store can be written"),
                    );
                }
                results.push(json::ActionResultJson {
                    id: s.id.to_string(),
                    ok: false,
                    status: Some(s.status.as_str()),
                    error: Some(why),
                    agent_stopped: Some(true),
                    ending_recorded: Some(false),
                });
            }
            Ok(Done {
                session: s, killed, ..
            }) => {
                if !p.json {
                    let detail = match (&s.error, s.status.as_str()) {
                        (Some(e), st) if st != "killed" => {
                            format!(" ({st}: {})", render::controls::visible(e))
                        }
                        _ => String::new(),
                    };
                    p.line(&format!("{verb} {}{detail}", s.short_id()))?;
                }
                results.push(json::ActionResultJson {
                    id: s.id.to_string(),
                    ok: true,
                    status: Some(s.status.as_str()),
                    error: None,
                    agent_stopped: killed.then_some(true),
                    ending_recorded: killed.then_some(true),
                });
            }
            Err(e) => {
                code = code.max(e.exit_code());
                if !p.json {
                    p.flush()?;
                    render::error(&p.style, &e.to_string(), e.hint().as_deref());
                }
                results.push(json::ActionResultJson {
                    id: o.id,
                    ok: false,
                    status: None,
                    error: Some(e.to_string()),
                    agent_stopped: None,
                    ending_recorded: None,
                });
            }
        }
    }
    if p.json {
        p.json_doc(&json::ActionJson {
            schema_version: json::SCHEMA_VERSION,
            results,
        })?;
    }
    Ok(code)
}
