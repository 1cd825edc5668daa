//! Running [`Cmd`]s. One trait, three runners:
//! - [`RealRunner`] starts processes (`std::process`), streams their output to the log, enforces timeouts and
//!   forwards Ctrl-C/SIGTERM to children;
//! - [`DryRunner`] prints the redacted command line instead, running only local read-only queries;
//! - [`RecordingRunner`] records calls and answers from a script, for tests.
//!
//! Callers never know which one they hold: that is what keeps `--dry-run` on the real code path.

mod dry;
mod output;
mod real;
mod recording;
#[cfg(test)]
mod tests;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use crate::cmd::Cmd;

pub use dry::DryRunner;
pub use real::RealRunner;
pub use recording::{Call, RecordingRunner};

/// What a command printed and how it ended. For a streamed command (an [`Effect::Change`]),
/// `stdout` holds its combined output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The signal that ended it (its `code` is then -1), for a probe, whose end is not a failure.
    pub signal: Option<i32>,
}

impl Output {
    pub fn ok(stdout: &str) -> Output {
        Output {
            code: 0,
            stdout: stdout.to_string(),
            stderr: String::new(),
            signal: None,
        }
    }
    pub fn failed(code: i32, stderr: &str) -> Output {
        Output {
            code,
            stdout: String::new(),
            stderr: stderr.to_string(),
            signal: None,
        }
    }
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// The answer of a runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The command ran (for a probe, whatever its exit code; otherwise it succeeded).
    Ran(Output),
    /// Dry run: the command was shown, not run; its answer is unknown.
    NotRun,
}

/// Why a command did not do its job. `cmd` is always the redacted command line.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CmdError {
    #[error("`{program}` was not found on PATH; install it or fix PATH")]
    NotFound { program: String },
    #[error("could not start `{cmd}`: {reason}")]
    Spawn { cmd: String, reason: String },
    #[error("`{cmd}` failed with {status}{}", tail_suffix(.tail))]
    Failed {
        cmd: String,
        status: String,
        tail: String,
    },
    #[error("`{cmd}` did not finish within {}s and was stopped{}", .after.as_secs(), tail_suffix(.tail))]
    TimedOut {
        cmd: String,
        after: Duration,
        tail: String,
    },
    #[error("interrupted while running `{cmd}`")]
    Interrupted { cmd: String },
    #[error("`{cmd}` printed more than {} on stdout; its output was not used", mib(*.limit))]
    TooMuchOutput { cmd: String, limit: usize },
}

fn mib(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

fn tail_suffix(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        let body: Vec<String> = tail.lines().map(|l| format!("  | {l}")).collect();
        format!("; last lines of its output:\n{}", body.join("\n"))
    }
}

pub trait Runner: Send + Sync {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError>;

    /// [`Runner::run`], calling `started` once the command's process has started (a runner that
    /// starts none calls it first). A runner that wraps another passes it on.
    fn run_started(&self, cmd: &Cmd, started: &dyn Fn()) -> Result<Reply, CmdError> {
        started();
        self.run(cmd)
    }
}

impl<R: Runner + ?Sized> Runner for Arc<R> {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        (**self).run(cmd)
    }
    fn run_started(&self, cmd: &Cmd, started: &dyn Fn()) -> Result<Reply, CmdError> {
        (**self).run_started(cmd, started)
    }
}

impl<R: Runner + ?Sized> Runner for &R {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        (**self).run(cmd)
    }
    fn run_started(&self, cmd: &Cmd, started: &dyn Fn()) -> Result<Reply, CmdError> {
        (**self).run_started(cmd, started)
    }
}
