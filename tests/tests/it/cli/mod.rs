//! The `clouddc` binary, run as a user runs it, against simulators in this
//! process.

mod collect;
mod commands;
mod fleet;
mod hardening;
mod help;
mod hostile_ids;
mod inventory;
mod resume;
mod secrets;
mod shard;
mod usage;
