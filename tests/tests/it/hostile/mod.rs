//! A hostile peer on either side: hostile requests to the simulator, hostile
//! and broken responses to the client.

mod hardening;
mod requests;
mod responses;
