//! What the tests share: the `clouddc` binary and simulators to point it at
//! ([`cli`]), a raw HTTP/1.1 server that can lie ([`raw_http`]), the clients
//! the tests build ([`client`]), a test re-run alone in a child process
//! ([`child`]), the lock of the tests that measure time under load
//! ([`heavy`]), and what a test reads of a directory ([`fs`]).

pub mod child;
pub mod cli;
pub mod client;
pub mod fs;
pub mod heavy;
pub mod raw_http;
pub mod s3;
