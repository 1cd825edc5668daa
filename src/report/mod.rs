//! What the user sees: logs on stderr, results on stdout.

pub mod github;
pub mod log;
pub mod plan;
pub mod run;
