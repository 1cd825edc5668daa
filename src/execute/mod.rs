//! Walking plans: the only layer that hands commands to a [`crate::runner::Runner`].

pub mod changes;
pub mod credentials;
pub mod gitops;
pub mod lease;
pub mod legacy;
pub mod live;
pub mod once_map;
pub mod recovery;
pub mod release;
pub mod run;
pub mod secrets;

use crate::runner::CmdError;

/// A deploy step failed: exit status 1 (130 when the failure was an interruption).
#[derive(Debug, thiserror::Error)]
#[error("{step} failed")]
pub struct StepFailed {
    pub step: String,
    #[source]
    pub source: CmdError,
}

impl StepFailed {
    pub fn new(step: &str, source: CmdError) -> Self {
        StepFailed {
            step: step.to_string(),
            source,
        }
    }
}
