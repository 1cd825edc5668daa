//! What the user sees: logs on stderr, results on stdout.

pub mod log;
