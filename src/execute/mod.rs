//! Walking plans: the only layer that hands commands to a [`crate::runner::Runner`].

pub mod changes;
mod cluster;
pub mod context;
pub mod credentials;
pub mod diff;
mod diff_side;
pub mod doctor;
mod flux;
mod gate;
pub mod gitops;
pub mod health;
pub mod lease;
pub mod legacy;
pub mod live;
mod live_phase;
pub mod once_map;
pub mod operate;
pub mod outcome;
pub mod pool;
pub mod preflight;
pub mod prepare;
pub mod progress;
mod records;
pub mod recovery;
pub mod release;
pub mod revision;
pub mod run;
pub mod secrets;
pub mod select;
pub mod status;

use outcome::Cause;

/// A step of the legacy run failed: exit status 1 (130 when the failure was an interruption, by
/// its cause's type).
#[derive(Debug, thiserror::Error)]
#[error("{step} failed")]
pub struct StepFailed {
    pub step: String,
    #[source]
    pub source: Cause,
}

impl StepFailed {
    pub fn new(step: &str, source: impl Into<Cause>) -> Self {
        StepFailed {
            step: step.to_string(),
            source: source.into(),
        }
    }

    /// Whether the run was stopped by a signal rather than failed.
    pub fn interrupted(&self) -> bool {
        self.source.is_interrupted()
    }
}
