//! Sessions: their on-disk model, the status rules, and the domain API.

pub(crate) mod budget;
pub(crate) mod depth;
pub(crate) mod doctor;
pub(crate) mod handover;
pub(crate) mod hook;
pub(crate) mod leftovers;
pub(crate) mod manager;
pub(crate) mod settle;
pub(crate) mod snapshots;
pub(crate) mod stall;
pub(crate) mod status;
pub(crate) mod supervisor;
