//! Argv builders, one module per program. They know each tool's syntax and nothing about when
//! or why a command runs: that policy lives in `plan` and `execute`.

pub mod cloud;
pub mod docker;
pub mod gcloud;
pub mod git;
pub mod helm;
pub mod kubectl;
pub mod sops;

use std::time::Duration;

/// Watchdog for commands that only talk to a service (login, queries): they should answer in
/// seconds, and a hung network call must not hold a CI job until its global timeout.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(300);
