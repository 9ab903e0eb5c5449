//! `Client::collect` and `clouddc logs collect` over fleets: download slots,
//! the journal, and a collect killed and restarted.

mod download_slots;
mod journal;
mod kill;
