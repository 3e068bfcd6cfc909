//! Before the agent starts: the sessions a turn comes after, and a slot in
//! its group. A turn that has to wait is recorded pending with its
//! supervisor, which then sleeps in the kernel (see [`crate::queue`]) with
//! no lock of the session held, so readers, `kill` and `wait` go on.

use crate::error::{Error, Result};
use crate::model::{Session, SessionStatus};
use crate::process;
use crate::queue::limits::Limits;
use crate::queue::wait::{self, Waited};
use crate::queue::{Group, Held};
use crate::session::manager::Manager;
use crate::store::{Store, WriteGuard};
use crate::timefmt::Timestamp;
use nix::fcntl::FlockArg;
use std::time::{Duration, SystemTime};

/// What a turn waits for, from its record.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    pub group: String,
    pub max_running: Option<u32>,
    pub after: Vec<String>,
    /// The agent (as `meta.json` names it), whose account limit it waits out.
    pub agent: String,
    pub not_before: Option<Timestamp>,
    /// Anything to wait for at all: a plain turn starts at once.
    pub queued: bool,
}

impl Plan {
    pub(super) fn of(session: &Session, turn: u32) -> Plan {
        let q = session
            .turns
            .iter()
            .rev()
            .find(|t| t.turn == turn)
            .and_then(|t| t.queue.clone())
            .unwrap_or_default();
        Plan {
            group: q.group_name().to_string(),
            queued: q.max_running.is_some() || !q.after.is_empty() || q.not_before.is_some(),
            max_running: q.max_running,
            after: q.after,
            agent: session.adapter.clone(),
            not_before: q.not_before,
        }
    }
}

/// Where the turn stands once it may no longer start at once.
#[derive(Debug)]
pub(super) enum Admitted {
    /// It may start: the slot it runs in (None where the store's queue
    /// folder cannot be made, and no limit applies).
    Start(Option<Held>),
    /// A session it comes after did not complete: why.
    DependencyFailed(String),
    /// It has to wait.
    Wait,
}

/// Decided under the session's write lock, at launch: whether the turn
/// starts now. Nothing waits here.
pub(super) fn admit(store: &Store, id: &str, turn: u32, plan: &Plan) -> Admitted {
    let manager = Manager::new(Store::new(store.root()));
    for dep in &plan.after {
        match dependency(&manager, dep) {
            Dep::Completed => {}
            Dep::Failed(why) => return Admitted::DependencyFailed(why),
            Dep::Active => return Admitted::Wait,
        }
    }
    if plan.queued && held_until(store, plan).is_some() {
        return Admitted::Wait;
    }
    let group = match Group::open(store.root(), &plan.group) {
        Ok(g) => g,
        // Nothing to count against: an unlimited turn runs uncounted, a
        // limited one waits for a folder that can be made.
        Err(_) if plan.max_running.is_none() => return Admitted::Start(None),
        Err(_) => return Admitted::Wait,
    };
    let Some(max) = plan.max_running else {
        return Admitted::Start(group.claim(id, turn).ok());
    };
    let Ok(_gate) = group.gate() else {
        return Admitted::Wait;
    };
    // Nobody waits in line and there is room: no reason to queue.
    if group.line_is_empty() && group.running_count() < max as usize {
        if let Ok(slot) = group.claim(id, turn) {
            return Admitted::Start(Some(slot));
        }
    }
    Admitted::Wait
}

/// How a wait ended.
#[derive(Debug)]
pub(super) enum Waiting {
    Start(Option<Held>),
    DependencyFailed(String),
    Stopped,
}

/// Waits, with no lock of the session held, for the turn's dependencies
/// and then its slot.
pub(super) fn wait_turn(
    store: &Store,
    id: &str,
    turn: u32,
    plan: &Plan,
    ticket: Option<u64>,
    mut place: Option<Held>,
) -> Result<Waiting> {
    let manager = Manager::new(Store::new(store.root()));
    for dep in &plan.after {
        match await_dependency(&manager, store, dep)? {
            Waited::Stopped => return Ok(Waiting::Stopped),
            Waited::Done(Some(why)) => return Ok(Waiting::DependencyFailed(why)),
            Waited::Done(None) => {}
        }
    }
    if plan.queued {
        if held_until(store, plan).is_some() {
            // Held back by a limit that came after the launch: out of the
            // line meanwhile, so that turns of other agents are not.
            place = None;
        }
        if let Waited::Stopped = wait_out_limit(store, id, plan)? {
            return Ok(Waiting::Stopped);
        }
    }
    let io = |e: std::io::Error| Error::io("wait in", store.root().join("queue"), e);
    let group = Group::open(store.root(), &plan.group).map_err(io)?;
    let (Some(max), Some(ticket)) = (plan.max_running, ticket) else {
        return Ok(Waiting::Start(group.claim(id, turn).ok()));
    };
    let place = match place {
        Some(p) => p,
        None => group.join(ticket, id).map_err(io)?,
    };
    match wait_for_slot(&group, place, ticket, id, turn, max as usize).map_err(io)? {
        Waited::Done(slot) => Ok(Waiting::Start(Some(slot))),
        Waited::Stopped => Ok(Waiting::Stopped),
    }
}

/// What holds a queued turn back before its slot: its `not_before`, or its
/// agent's account limit (Some(None): a limit whose reset nobody knows).
fn held_until(store: &Store, plan: &Plan) -> Option<Option<Timestamp>> {
    if let Some(t) = plan.not_before.filter(|t| *t > Timestamp::now()) {
        return Some(Some(t));
    }
    let limits = Limits::open(store.root(), false).ok()?;
    limits.current(&plan.agent).map(|l| l.resets_at)
}

/// Sleeps until the turn may meet its agent again: past its `not_before`
/// and its agent's limit. A limit whose reset is unknown is waited out in
/// a line of its own, whose head watches for the limit to be lifted (a
/// session of the agent completed, or was started or retried by hand).
fn wait_out_limit(store: &Store, id: &str, plan: &Plan) -> Result<Waited<()>> {
    let io = |e: std::io::Error| Error::io("wait in", store.root().join("limits"), e);
    loop {
        match held_until(store, plan) {
            None => return Ok(Waited::Done(())),
            Some(Some(t)) => {
                let left = Timestamp::now().seconds_until(&t).max(0.0);
                let until = SystemTime::now() + Duration::from_secs_f64(left);
                if let Waited::Stopped = wait::sleep_until(until).map_err(io)? {
                    return Ok(Waited::Stopped);
                }
            }
            Some(None) => {
                if let Waited::Stopped = wait_for_lift(store, id, plan).map_err(io)? {
                    return Ok(Waited::Stopped);
                }
            }
        }
    }
}

/// Waits in the line of the agent's limit until the limit is lifted.
fn wait_for_lift(store: &Store, id: &str, plan: &Plan) -> std::io::Result<Waited<()>> {
    let limits = Limits::open(store.root(), true)?;
    let line = Group::open(store.root(), &format!("limit.{}", plan.agent))?;
    let ticket = line.take_ticket()?;
    let _place = line.join(ticket, id)?;
    loop {
        if wait::stopped() {
            return Ok(Waited::Stopped);
        }
        if let Some(ahead) = line.ahead_of(ticket, id) {
            if let Ok(file) = line.line_entry(&ahead) {
                match wait::lock(file, FlockArg::LockShared)? {
                    Waited::Stopped => return Ok(Waited::Stopped),
                    Waited::Done(lock) => drop(lock),
                }
            }
            continue;
        }
        let watch = wait::Watch::new(&[line.line_dir(), limits.dir()])?;
        match limits.current(&plan.agent) {
            // Lifted, or now with a reset time to sleep until.
            None => return Ok(Waited::Done(())),
            Some(l) if l.resets_at.is_some() => return Ok(Waited::Done(())),
            Some(_) => {}
        }
        if let Waited::Stopped = watch.next()? {
            return Ok(Waited::Stopped);
        }
    }
}

enum Dep {
    Completed,
    Failed(String),
    Active,
}

/// A dependency as it stands (settled, if nothing runs it any more).
fn dependency(manager: &Manager, dep: &str) -> Dep {
    let short = crate::model::short(dep);
    match manager.get(dep) {
        Ok(s) if s.status == SessionStatus::Completed => Dep::Completed,
        Ok(s) if s.status.is_active() => Dep::Active,
        Ok(s) => Dep::Failed(match &s.error {
            Some(e) => format!("dependency {short} ended {}: {e}", s.status),
            None => format!("dependency {short} ended {}", s.status),
        }),
        Err(Error::NotFound(_)) => Dep::Failed(format!("dependency {short} was removed")),
        Err(e) => Dep::Failed(format!("dependency {short} cannot be read: {e}")),
    }
}

/// Sleeps until `dep`'s latest turn has ended: on its run lock while a
/// supervisor holds it. Done(Some(why)) if it did not complete.
fn await_dependency(manager: &Manager, store: &Store, dep: &str) -> Result<Waited<Option<String>>> {
    loop {
        if wait::stopped() {
            return Ok(Waited::Stopped);
        }
        match dependency(manager, dep) {
            Dep::Completed => return Ok(Waited::Done(None)),
            Dep::Failed(why) => return Ok(Waited::Done(Some(why))),
            Dep::Active => {}
        }
        if store.run_lock_held(dep) {
            // Granted the moment its supervisor lets go, after recording.
            let file = store.run_lock_file(dep)?;
            let path = store.run_lock_path(dep);
            match wait::lock(file, FlockArg::LockShared).map_err(|e| Error::io("lock", &path, e))? {
                Waited::Stopped => return Ok(Waited::Stopped),
                Waited::Done(lock) => drop(lock),
            }
        } else {
            // Being launched (its launcher holds the write lock for an
            // instant), or a zwarm 2.3.5 session whose agent runs with no
            // supervisor: nothing to sleep on but time.
            let until = SystemTime::now() + Duration::from_millis(200);
            if let Waited::Stopped =
                wait::sleep_until(until).map_err(|e| Error::io("wait for", dep, e))?
            {
                return Ok(Waited::Stopped);
            }
        }
    }
}

/// Waits in the group's line, where it stands as `place` with `ticket`,
/// until the turn is at its head and fewer than `max` of the group's turns
/// run; returns the slot.
fn wait_for_slot(
    group: &Group,
    place: Held,
    ticket: u64,
    id: &str,
    turn: u32,
    max: usize,
) -> std::io::Result<Waited<Held>> {
    let mut watch: Option<crate::queue::wait::Watch> = None;
    loop {
        if wait::stopped() {
            return Ok(Waited::Stopped);
        }
        if let Some(ahead) = group.ahead_of(ticket, id) {
            // Not at the head: sleep on the lock of the one just ahead,
            // which it lets go of when it leaves the line (or dies). Only
            // heads watch the folders.
            watch = None;
            if let Ok(file) = group.line_entry(&ahead) {
                match wait::lock(file, FlockArg::LockShared)? {
                    Waited::Stopped => return Ok(Waited::Stopped),
                    Waited::Done(lock) => drop(lock),
                }
            }
            continue;
        }
        let w = match watch.take() {
            Some(w) => w,
            // Watching before looking: a slot freed after the count below
            // still wakes this head.
            None => wait::Watch::new(&group.watched())?,
        };
        {
            let _gate = group.gate()?;
            if group.ahead_of(ticket, id).is_none() && group.running_count() < max {
                group.sweep(true);
                let slot = group.claim(id, turn)?;
                drop(place);
                return Ok(Waited::Done(slot));
            }
        }
        match w.next()? {
            Waited::Stopped => return Ok(Waited::Stopped),
            Waited::Done(()) => watch = Some(w),
        }
    }
}

/// A turn's ticket where a limit applies, and its place in the line when
/// it has nothing else to wait for first.
pub(super) struct Enqueued {
    pub ticket: Option<u64>,
    pub place: Option<Held>,
}

/// Records the turn pending with this supervisor, and its ticket where a
/// limit applies, under the launcher's lock. A turn that waits only for a
/// slot is in the line before its ticket is recorded, so that whoever reads
/// the ticket (`show`, right after `start` returns) finds its place.
pub(super) fn enqueue(
    store: &Store,
    write_lock: &WriteGuard,
    id: &str,
    turn: u32,
    plan: &Plan,
) -> std::result::Result<Enqueued, String> {
    let mut session = write_lock.load().map_err(|e| e.to_string())?;
    let joined = |e: std::io::Error| format!("cannot join the queue of group {}: {e}", plan.group);
    let (ticket, place) = match plan.max_running {
        Some(_) => {
            let group = Group::open(store.root(), &plan.group).map_err(joined)?;
            let ticket = group.take_ticket().map_err(joined)?;
            let slot_only =
                plan.after.is_empty() && !(plan.queued && held_until(store, plan).is_some());
            let place = if slot_only {
                Some(group.join(ticket, id).map_err(joined)?)
            } else {
                None
            };
            (Some(ticket), place)
        }
        None => (None, None),
    };
    let me = std::process::id() as i32;
    let Some(rec) = session
        .current_turn_mut()
        .filter(|r| r.turn == turn && r.is_open())
    else {
        return Err(format!("turn {turn} is no longer waiting to be launched"));
    };
    rec.supervisor = process::record(me);
    rec.boot_id = process::boot_id();
    if let Some(q) = rec.queue.as_mut() {
        q.ticket = ticket;
        q.queued_at = rec.started_at;
    }
    session.status = SessionStatus::Pending;
    session.pid = Some(me);
    write_lock.save(&mut session).map_err(|e| e.to_string())?;
    Ok(Enqueued { ticket, place })
}
