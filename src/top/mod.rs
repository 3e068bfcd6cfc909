//! `zwarm top`: a live dashboard of every session. The sessions needing
//! attention come first; the selected one's steps are shown as they are
//! written; inject, kill and diff are a key away, each the same manager
//! call as its verb.
//!
//! `rows` turns sessions into ordered rows, `app` holds the state and
//! what keys do to it, `preview` reads the selected session's text, `view`
//! draws a frame, `live` is the event loop and `terminal` sets the
//! terminal up and gives it back. `hosts` brings the remotes' sessions in
//! (`--all-hosts`, `--host`), and runs what keys ask of them there.

mod app;
mod hosts;
mod live;
mod preview;
mod rows;
mod terminal;
mod view;

pub(crate) use hosts::Remotes;
pub(crate) use live::run;
