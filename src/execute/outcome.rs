//! How a release ended and how a whole run went, as types: a release's [`Status`] comes from its
//! [`Failure`]'s cause, the run's [`Verdict`] from the statuses, and the exit code from the
//! verdict. No decision here reads message text.

use serde::Serialize;

use crate::plan::jobs::Job;
use crate::runner::CmdError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
    /// Dry run: shown, not run.
    DryRun,
    /// `--live`: not upgraded, since the upgrade would change nothing.
    Unchanged,
}

impl Status {
    /// As in reports and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Interrupted => "interrupted",
            Status::DryRun => "dry run",
            Status::Unchanged => "unchanged",
        }
    }

    /// Whether a release with this status blocks what comes after it in its cluster (a canary
    /// that did not succeed keeps the prod hubs from starting).
    pub fn blocks(self) -> bool {
        matches!(self, Status::Failed | Status::Skipped | Status::Interrupted)
    }
}

/// What happened to one release of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub job: Job,
    pub status: Status,
    /// Why it failed or was skipped (first line first).
    pub message: String,
    /// Seconds from the start of the run; `None` if it never started.
    pub started: Option<f64>,
    pub duration: f64,
    /// Of `duration`, the seconds it waited for a `--jobs` slot (its helm commands queued).
    pub queued: f64,
    /// The commands run for it, redacted.
    pub commands: Vec<String>,
    /// `--live`: what the check found for a release that was kept (`changes: …`, `not installed
    /// yet`, …).
    pub live: Option<String>,
    /// A hub's health check after its upgrade: whether it passed, how long it took, what it saw.
    pub health: Option<Health>,
}

/// What a hub's health check found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Health {
    pub ok: bool,
    pub secs: f64,
    pub detail: String,
}

impl Outcome {
    /// A release that never started.
    pub fn not_run(job: &Job, status: Status, message: &str) -> Outcome {
        Outcome {
            job: job.clone(),
            status,
            message: message.to_string(),
            started: None,
            duration: 0.0,
            queued: 0.0,
            commands: Vec::new(),
            live: None,
            health: None,
        }
    }
}

/// Why a step of a release did not do its job.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// A command failed, timed out, could not start, or was stopped by a signal.
    #[error(transparent)]
    Command(#[from] CmdError),
    /// The step did not start: the run was asked to stop.
    #[error("not started (interrupted)")]
    Interrupted,
    /// Something the config promised is not there (a values file sops cannot turn into a
    /// document, a release another actor is upgrading).
    #[error("{0}")]
    Refused(String),
    /// A hub did not pass its health check after its upgrade.
    #[error("{0}")]
    Unhealthy(String),
    /// It did not go on: the release it waited for before prod did not pass (see
    /// [`super::gate`]). `status` and `why` are what a release not started for that reason has.
    #[error("{why}")]
    NotStarted { status: Status, why: String },
}

impl Cause {
    /// Whether it is an interruption (a signal), by type.
    pub fn is_interrupted(&self) -> bool {
        matches!(
            self,
            Cause::Interrupted
                | Cause::Command(CmdError::Interrupted { .. })
                | Cause::NotStarted {
                    status: Status::Interrupted,
                    ..
                }
        )
    }
}

/// Which step of a release failed, and why.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {cause}")]
pub struct Failure {
    pub step: &'static str,
    #[source]
    pub cause: Cause,
}

impl Failure {
    /// A function turning a command's error into a failure of `step`.
    pub fn at(step: &'static str) -> impl Fn(CmdError) -> Failure {
        move |e| Failure {
            step,
            cause: Cause::Command(e),
        }
    }

    /// Interrupted or failed, by the cause's type.
    pub fn status(&self) -> Status {
        match &self.cause {
            Cause::NotStarted { status, .. } => *status,
            c if c.is_interrupted() => Status::Interrupted,
            _ => Status::Failed,
        }
    }

    /// What a report says: the step and its cause, or for a release that did not go on, only
    /// why (as for one that never started).
    pub fn message(&self) -> String {
        match &self.cause {
            Cause::NotStarted { why, .. } => why.clone(),
            _ => self.to_string(),
        }
    }

    /// The command error behind it, if a command failed.
    pub fn command_error(&self) -> Option<&CmdError> {
        match &self.cause {
            Cause::Command(e) => Some(e),
            _ => None,
        }
    }
}

/// How a whole run went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Succeeded,
    /// A release failed or was skipped.
    Failed,
    Interrupted,
}

impl Verdict {
    /// Interrupted if any release was, else failed if any failed or was skipped, else succeeded.
    pub fn of(outcomes: &[Outcome]) -> Verdict {
        if outcomes.iter().any(|o| o.status == Status::Interrupted) {
            Verdict::Interrupted
        } else if outcomes
            .iter()
            .any(|o| matches!(o.status, Status::Failed | Status::Skipped))
        {
            Verdict::Failed
        } else {
            Verdict::Succeeded
        }
    }

    /// 0, 1 or 130.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Succeeded => 0,
            Verdict::Failed => 1,
            Verdict::Interrupted => 130,
        }
    }
}

/// A run that did not succeed: its verdict gives the exit code (1 or 130).
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct RunFailed {
    pub summary: String,
    pub verdict: Verdict,
}

/// `deploy doctor` found something a run needs missing, or of a version that will not do: exit 1
/// (the machine is not ready; the repo's config is fine, else it would be exit 2).
#[derive(Debug, thiserror::Error)]
#[error("this machine cannot run a deploy yet: {}", .problems.join("; "))]
pub struct NotReady {
    /// One per row that is not found: what, its status, and how to install it.
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_interrupted_only_by_its_type() {
        let failed = Failure {
            step: "helm upgrade",
            cause: Cause::Command(CmdError::Failed {
                cmd: "helm upgrade".into(),
                status: "exit status 1".into(),
                tail: "Error: interrupted by a webhook".into(),
            }),
        };
        assert!(failed.to_string().contains("interrupted"));
        assert_eq!(failed.status(), Status::Failed);
        let stopped = Failure {
            step: "helm upgrade",
            cause: Cause::Command(CmdError::Interrupted {
                cmd: "helm upgrade".into(),
            }),
        };
        assert_eq!(stopped.status(), Status::Interrupted);
    }
}
