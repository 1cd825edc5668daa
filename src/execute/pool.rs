//! Running many releases at once, within limits: at most `--jobs` helm processes across the
//! whole run ([`Permits`]), a runner per release that records its commands ([`Guarded`]), and
//! [`parallel`] (from [`crate::parallel`]) for a list of work items.

use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex};

use crate::cmd::Cmd;
use crate::log::Log;
use crate::runner::{CmdError, Reply, Runner};

/// Makes the runner for one release, logging into that release's log.
pub trait RunnerFactory: Sync {
    fn make<'a>(&'a self, log: &Log) -> Box<dyn Runner + 'a>;
}

/// A counting semaphore: at most N helm processes at once.
pub struct Permits {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Permits {
    pub fn new(n: usize) -> Permits {
        Permits {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }
    pub fn acquire(&self) {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self
                .cv
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
    }
    /// Take one if one is free now; never waits.
    pub fn try_acquire(&self) -> bool {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *free > 0 {
            *free -= 1;
            true
        } else {
            false
        }
    }
    pub fn release(&self) {
        *self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        self.cv.notify_one();
    }
}

/// Limits helm processes and records the commands of one release.
pub struct Guarded<'a> {
    inner: Box<dyn Runner + 'a>,
    permits: &'a Permits,
    commands: Mutex<Vec<String>>,
    /// A command was only shown (dry run).
    shown: std::sync::atomic::AtomicBool,
    /// Time spent waiting for a permit.
    queued: Mutex<std::time::Duration>,
}

impl<'a> Guarded<'a> {
    pub fn new(inner: Box<dyn Runner + 'a>, permits: &'a Permits) -> Self {
        Guarded {
            inner,
            permits,
            commands: Mutex::new(Vec::new()),
            shown: std::sync::atomic::AtomicBool::new(false),
            queued: Mutex::new(std::time::Duration::ZERO),
        }
    }

    /// Whether a command was only shown (a dry run), the commands, redacted, and the seconds
    /// spent waiting for a permit.
    pub fn finish(self) -> (bool, Vec<String>, f64) {
        let shown = self.shown.load(Ordering::SeqCst);
        let queued = self
            .queued
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (
            shown,
            self.commands
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            queued.as_secs_f64(),
        )
    }
}

impl Runner for Guarded<'_> {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        self.run_started(cmd, &|| {})
    }

    fn run_started(&self, cmd: &Cmd, started: &dyn Fn()) -> Result<Reply, CmdError> {
        self.commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(cmd.to_string());
        let helm = cmd.program == "helm";
        if helm {
            let t0 = std::time::Instant::now();
            self.permits.acquire();
            *self
                .queued
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) += t0.elapsed();
        }
        let r = self.inner.run_started(cmd, started);
        if helm {
            self.permits.release();
        }
        if matches!(r, Ok(Reply::NotRun)) {
            self.shown.store(true, Ordering::SeqCst);
        }
        r
    }
}

pub use crate::parallel::map as parallel;

impl RunnerFactory for crate::runner::RecordingRunner {
    fn make<'a>(&'a self, _log: &Log) -> Box<dyn Runner + 'a> {
        Box::new(self)
    }
}

/// Real processes, run in the repo.
pub struct RealFactory {
    pub root: std::path::PathBuf,
}

impl RunnerFactory for RealFactory {
    fn make<'a>(&'a self, log: &Log) -> Box<dyn Runner + 'a> {
        Box::new(crate::runner::RealRunner::in_repo(&self.root, log))
    }
}

/// A dry run: commands are written to what `out` gives (stdout for `--dry-run`, nowhere when only
/// the commands each release would run are wanted), local read-only queries run for real.
pub struct DryFactory {
    pub root: std::path::PathBuf,
    pub out: fn() -> Box<dyn std::io::Write + Send>,
}

impl RunnerFactory for DryFactory {
    fn make<'a>(&'a self, log: &Log) -> Box<dyn Runner + 'a> {
        let real = crate::runner::RealRunner::in_repo(&self.root, log);
        Box::new(crate::runner::DryRunner::new(real, (self.out)()))
    }
}
