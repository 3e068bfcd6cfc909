//! Sessions: their on-disk model, the status rules, and the domain API.

pub mod doctor;
pub mod manager;
pub mod settle;
pub mod stall;
pub mod status;
pub mod supervisor;
