//! Waiting for something to become true, without hand-written deadline
//! loops: [`eventually`] polls a condition until it holds, and panics
//! naming what it waited for when it never does.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How often a condition is polled.
const EVERY: Duration = Duration::from_millis(5);

/// What a polled condition may answer: `true`, `Some(value)` or
/// `Ok(value)` when it holds; `false`, `None` or `Err(why)` when it does
/// not yet (the last `why` is shown if time runs out).
pub trait Outcome {
    type Value;
    fn ready(self) -> Result<Self::Value, Option<String>>;
}

impl Outcome for bool {
    type Value = ();
    fn ready(self) -> Result<(), Option<String>> {
        if self {
            Ok(())
        } else {
            Err(None)
        }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Debug> Outcome for Result<T, E> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(format!("{e:?}")))
    }
}

/// Polls `cond` until it holds and returns what it gave; panics after
/// `timeout` with "timed out after .. waiting for `what`" (and the last
/// `Err` the condition answered, if any).
#[track_caller]
pub fn eventually<O: Outcome>(timeout: Duration, what: &str, cond: impl FnMut() -> O) -> O::Value {
    eventually_every(EVERY, timeout, what, cond)
}

/// [`eventually`], polling `every` so often: for conditions that cost a
/// process to find out.
#[track_caller]
pub fn eventually_every<O: Outcome>(
    every: Duration,
    timeout: Duration,
    what: &str,
    mut cond: impl FnMut() -> O,
) -> O::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let why = match cond().ready() {
            Ok(value) => return value,
            Err(why) => why,
        };
        if Instant::now() >= deadline {
            match why {
                Some(why) => panic!("timed out after {timeout:?} waiting for {what}: {why}"),
                None => panic!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        std::thread::sleep(every);
    }
}

/// Polls `cond` until it holds or `timeout` passes; whether it held. For
/// callers that must clean up before they fail.
pub fn within(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(EVERY);
    }
}
