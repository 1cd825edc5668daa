//! [`DryRunner`]: `--dry-run`.

use std::io::Write;
use std::sync::Mutex;

use super::{CmdError, RealRunner, Reply, Runner};
use crate::cmd::{Cmd, Effect};
use crate::signals;

/// Prints commands instead of running them; runs local read-only queries for real so the printed
/// commands carry real values (the image tag from `git log`).
pub struct DryRunner {
    real: RealRunner,
    out: Mutex<Box<dyn Write + Send>>,
}

impl DryRunner {
    pub fn new(real: RealRunner, out: Box<dyn Write + Send>) -> Self {
        DryRunner {
            real,
            out: Mutex::new(out),
        }
    }
}

impl Runner for DryRunner {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        if cmd.effect == Effect::LocalQuery {
            return self.real.run(cmd);
        }
        if signals::interrupted() {
            return Err(CmdError::Interrupted { cmd: cmd.line() });
        }
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A closed stdout (`| head`) must not turn into a failed deploy step.
        let _ = writeln!(out, "{cmd}");
        let _ = out.flush();
        Ok(Reply::NotRun)
    }
}
