//! The simulator (issue 3).
