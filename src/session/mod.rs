//! Sessions: their on-disk model, the status rules, and the domain API.

pub mod manager;
pub mod model;
pub mod settle;
pub mod status;
