//! End-to-end and contract tests live in `tests/tests/`; this library holds
//! what the driver programs in `src/bin` share.

pub mod bench_support;
