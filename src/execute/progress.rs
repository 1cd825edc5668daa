//! Long work is never silent: while releases (or a legacy deploy's steps) run, a heartbeat line
//! every interval says what each is doing and for how long (`still upgrading alpha/physics
//! (2m30s): helm upgrade …`), so a CI service that kills a silent job (Travis: 10 minutes) never
//! kills a healthy deploy, and a person watching sees what is going on.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cmd::Cmd;
use crate::log::Log;
use crate::runner::{CmdError, Reply, Runner};

/// What is running now: each piece of work by label, since when, and its current command.
#[derive(Default)]
pub struct Activity {
    running: Mutex<BTreeMap<String, Entry>>,
}

struct Entry {
    since: Instant,
    command: Option<String>,
}

impl Activity {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Entry>) -> R) -> R {
        f(&mut self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    pub fn begin(&self, label: &str) {
        self.with(|m| {
            m.insert(
                label.to_string(),
                Entry {
                    since: Instant::now(),
                    command: None,
                },
            )
        });
    }

    pub fn end(&self, label: &str) {
        self.with(|m| m.remove(label));
    }

    fn command(&self, label: &str, command: Option<String>) {
        self.with(|m| {
            if let Some(e) = m.get_mut(label) {
                e.command = command;
            }
        });
    }

    /// One line per piece of work in progress, in label order.
    pub fn lines(&self, verb: &str) -> Vec<String> {
        self.with(|m| {
            m.iter()
                .map(|(label, e)| {
                    let took = elapsed(e.since.elapsed());
                    match &e.command {
                        Some(c) => format!("still {verb} {label} ({took}): {c}"),
                        None => format!("still {verb} {label} ({took})"),
                    }
                })
                .collect()
        })
    }
}

/// `45s`, `2m30s`, `1h02m03s`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// A runner that records, for the heartbeat, the command its piece of work is running.
pub struct Tracked<'a> {
    inner: Box<dyn Runner + 'a>,
    activity: &'a Activity,
    label: String,
}

impl<'a> Tracked<'a> {
    /// The work `label` begins now, and ends when this runner is dropped.
    pub fn new(inner: Box<dyn Runner + 'a>, activity: &'a Activity, label: &str) -> Self {
        activity.begin(label);
        Tracked {
            inner,
            activity,
            label: label.to_string(),
        }
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.activity.end(&self.label);
    }
}

impl Runner for Tracked<'_> {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        self.run_started(cmd, &|| {})
    }

    fn run_started(&self, cmd: &Cmd, started: &dyn Fn()) -> Result<Reply, CmdError> {
        // the command as logged: secrets redacted
        self.activity.command(&self.label, Some(cmd.to_string()));
        let r = self.inner.run_started(cmd, started);
        self.activity.command(&self.label, None);
        r
    }
}

/// Run `f`; meanwhile, every `every` (none: never), log what `activity` holds, one line each.
pub fn with_heartbeat<R>(
    log: &Log,
    activity: &Activity,
    every: Option<Duration>,
    verb: &str,
    f: impl FnOnce() -> R,
) -> R {
    let Some(every) = every.filter(|d| !d.is_zero()) else {
        return f();
    };
    let stop = (Mutex::new(false), Condvar::new());
    std::thread::scope(|s| {
        s.spawn(|| {
            let (done, cv) = &stop;
            let mut guard = done
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // (the work may be over before this thread first waits: a notice sent before the
            // wait is not seen, so the flag is read first, or an empty run waits `every`)
            while !*guard {
                let (g, timeout) = cv
                    .wait_timeout(guard, every)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                guard = g;
                if timeout.timed_out() && !*guard {
                    for line in activity.lines(verb) {
                        log.info(&line);
                    }
                }
            }
        });
        let r = f();
        let (done, cv) = &stop;
        *done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        cv.notify_all();
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Ci, SharedBuf, Verbosity};

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(elapsed(Duration::from_secs(45)), "45s");
        assert_eq!(elapsed(Duration::from_secs(150)), "2m30s");
        assert_eq!(elapsed(Duration::from_secs(3723)), "1h02m03s");
    }

    #[test]
    fn each_beat_names_the_work_in_progress_and_its_command() {
        let buf = SharedBuf::default();
        let log = Log::with_sink(Verbosity::Normal, Ci::Plain, Box::new(buf.clone()));
        let activity = Activity::default();
        activity.begin("alpha/physics");
        activity.command("alpha/physics", Some("helm upgrade physics".into()));
        activity.begin("beta/staging");
        with_heartbeat(
            &log,
            &activity,
            Some(Duration::from_millis(40)),
            "upgrading",
            || std::thread::sleep(Duration::from_millis(130)),
        );
        let text = buf.text();
        let beats = text
            .lines()
            .filter(|l| l.starts_with("still upgrading alpha/physics (0s): helm upgrade physics"))
            .count();
        assert!(beats >= 2, "{text}");
        assert!(
            text.contains("still upgrading beta/staging (0s)\n"),
            "{text}"
        );
        // none after the work ended, none when off
        let n = text.lines().count();
        std::thread::sleep(Duration::from_millis(100));
        with_heartbeat(&log, &activity, None, "upgrading", || {
            std::thread::sleep(Duration::from_millis(60))
        });
        assert_eq!(buf.text().lines().count(), n);
    }
}
