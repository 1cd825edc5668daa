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
/// seconds, and a hung network call must not hold a CI job until its global timeout. 5 minutes,
/// or `DEPLOY_NETWORK_TIMEOUT` seconds (a slow link, or a test of the watchdog).
pub fn network_timeout() -> Duration {
    static T: std::sync::LazyLock<Duration> = std::sync::LazyLock::new(|| {
        let secs = std::env::var("DEPLOY_NETWORK_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        Duration::from_secs(secs.filter(|s| *s > 0).unwrap_or(300))
    });
    *T
}
