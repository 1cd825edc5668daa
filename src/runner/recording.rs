//! [`RecordingRunner`]: records calls and answers from a script, for tests.

use std::sync::Mutex;
use std::time::Instant;

use super::{CmdError, Output, Reply, Runner};
use crate::cmd::Cmd;

/// One call seen by the [`RecordingRunner`].
#[derive(Clone, Debug)]
pub struct Call {
    pub cmd: Cmd,
    pub start: Instant,
    pub end: Instant,
}

type Responder = dyn Fn(&Cmd) -> Result<Reply, CmdError> + Send + Sync;

/// Records every command and answers from a function, for orchestration tests.
pub struct RecordingRunner {
    calls: Mutex<Vec<Call>>,
    respond: Box<Responder>,
}

impl RecordingRunner {
    /// Every command succeeds with empty output.
    pub fn ok() -> Self {
        Self::new(|_| Ok(Reply::Ran(Output::ok(""))))
    }

    pub fn new(f: impl Fn(&Cmd) -> Result<Reply, CmdError> + Send + Sync + 'static) -> Self {
        RecordingRunner {
            calls: Mutex::new(Vec::new()),
            respond: Box::new(f),
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The redacted command lines, in call order.
    pub fn lines(&self) -> Vec<String> {
        self.calls().iter().map(|c| c.cmd.line()).collect()
    }
}

impl Runner for RecordingRunner {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        let start = Instant::now();
        let reply = (self.respond)(cmd);
        let end = Instant::now();
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Call {
                cmd: cmd.clone(),
                start,
                end,
            });
        // A failed non-probe command is an error, exactly as the real runner reports it.
        match reply {
            Ok(Reply::Ran(out)) if !out.success() && !cmd.probe => Err(CmdError::Failed {
                cmd: cmd.line(),
                status: format!("exit status {}", out.code),
                tail: out.stderr,
            }),
            other => other,
        }
    }
}
