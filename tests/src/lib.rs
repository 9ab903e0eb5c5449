//! End-to-end and contract tests live in `tests/tests/`.
