//! The driver programs of `cargo xtask contract` (`contract-client`,
//! `contract-tee-proxy`) and `cargo xtask bench` (`bench_*`), in `src/bin`;
//! this library holds what they share. They are programs, not tests: a
//! package of their own keeps their dependencies out of the test package.

pub mod bench_support;
