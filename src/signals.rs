//! Ctrl-C, SIGTERM and SIGHUP: remember that we were asked to stop, so runners can forward the
//! signal to their children, wait for them, start nothing new, and the process can exit 130.
//!
//! Two cases end the process at once instead (exit 130), after removing the temp files and
//! folders registered here (decrypted values, private kubeconfigs) and killing the commands still
//! running:
//! - a second signal: the user (or CI) insists;
//! - a signal before any external command started (loading config, reading input): there is
//!   nothing to stop or clean up but those temp paths.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// SIGTERM or SIGHUP was received (sent to deploy, not typed in its terminal as Ctrl-C is).
static TERMINATED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// An interactive command has the terminal: a Ctrl-C is its own (it reaches deploy too, in the
/// same process group), neither a stop nor a count towards the second signal's fast exit.
static INTERACTIVE: AtomicBool = AtomicBool::new(false);
/// An external command has been started (from then on, the first signal stops cleanly).
static STARTED: AtomicBool = AtomicBool::new(false);
/// Signals received, counted by the watcher thread.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// What a fast exit must remove or kill, by registration id.
#[derive(Default)]
struct Registry {
    paths: BTreeMap<u64, PathBuf>,
    children: BTreeMap<u64, Vec<u32>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    paths: BTreeMap::new(),
    children: BTreeMap::new(),
});

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

fn terminated_flag() -> &'static Arc<AtomicBool> {
    TERMINATED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The signals that stop a run: Ctrl-C, SIGTERM (a cancelled CI job), SIGHUP (a closed terminal).
pub const STOP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Install the handlers: each signal sets the flag (in the handler itself) and wakes a watcher
/// thread that decides whether to exit at once. Without them a cancelled CI job would kill us
/// between `helm upgrade` starting and finishing, leaving nothing in the log.
pub fn install() -> std::io::Result<()> {
    // A SIGCHLD ignored by whoever started us would reap our commands on their own: their ends
    // could not be waited for, and their pids would be free for others while we still held them.
    // SAFETY: signal(2) setting the default disposition, before any command is started.
    unsafe {
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
    }
    let (mut read, write) = std::os::unix::net::UnixStream::pair()?;
    for sig in STOP_SIGNALS {
        // the flag first, then the pipe: the watcher sees the flag set when it wakes up
        signal_hook::flag::register(sig, Arc::clone(flag()))?;
        if sig != SIGINT {
            signal_hook::flag::register(sig, Arc::clone(terminated_flag()))?;
        }
        signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut byte = [0u8];
            while read.read_exact(&mut byte).is_ok() {
                if INTERACTIVE.load(Ordering::SeqCst) && !terminated_flag().load(Ordering::SeqCst) {
                    // a Ctrl-C for the interactive command
                    flag().store(false, Ordering::SeqCst);
                    continue;
                }
                let n = RECEIVED.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(why) = exit_now(n, STARTED.load(Ordering::SeqCst)) {
                    fast_exit(why);
                }
            }
        })?;
    Ok(())
}

/// Whether the `n`th signal ends the process at once, and why.
fn exit_now(n: usize, started: bool) -> Option<&'static str> {
    if n >= 2 {
        Some("interrupted again: stopping at once")
    } else if !started {
        Some("interrupted before anything started")
    } else {
        None
    }
}

/// Remove the registered temp paths, kill the commands still running, exit 130.
fn fast_exit(why: &str) -> ! {
    let removed = cleanup(|_| true);
    let what = if removed == 0 {
        String::new()
    } else {
        format!(" ({removed} temp file(s) and folder(s) removed)")
    };
    // a plain write (the log may be held by a thread that is stopping) whose failure is ignored
    // (after SIGHUP the terminal is gone: eprintln! would panic, and we would not exit)
    let _ = writeln!(std::io::stderr(), "error: {why}{what}");
    std::process::exit(130)
}

/// Kill the running commands, remove the registered temp paths (those whose registration id
/// `which` selects); how many paths were removed.
fn cleanup(which: impl Fn(u64) -> bool) -> usize {
    let r = registry();
    for (_, pids) in r.children.iter().filter(|(id, _)| which(**id)) {
        for pid in pids {
            if let Ok(pid) = libc::pid_t::try_from(*pid) {
                // SAFETY: kill(2) on a process we started and have not reaped yet.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
    let mut removed = 0;
    for (_, p) in r.paths.iter().filter(|(id, _)| which(**id)) {
        let gone = if p.is_dir() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
        removed += usize::from(gone.is_ok());
    }
    removed
}

/// Whether a stop signal was received.
pub fn interrupted() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Whether a stop signal is received within `within` (polled): for a command that died of one
/// sent to the whole process group, whose handler here may not have run yet.
pub fn wait_interrupted(within: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    while !interrupted() {
        if start.elapsed() >= within {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    true
}

/// While an interactive command has the terminal: Ctrl-C is the command's (see `INTERACTIVE`).
pub fn set_interactive(on: bool) {
    INTERACTIVE.store(on, Ordering::SeqCst);
}

/// Whether SIGTERM or SIGHUP was received: a stop meant for deploy itself, where a Ctrl-C may
/// have been meant for an interactive command in the same terminal.
pub fn terminated() -> bool {
    terminated_flag().load(Ordering::SeqCst)
}

/// For tests of interruption without sending real signals.
pub fn set_interrupted(v: bool) {
    flag().store(v, Ordering::SeqCst);
}

/// Called before starting an external command: from now on a first signal stops cleanly instead
/// of exiting at once.
pub fn mark_started() {
    STARTED.store(true, Ordering::SeqCst);
}

/// A registration removed from the registry when dropped.
#[derive(Debug)]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        let mut r = registry();
        r.paths.remove(&self.0);
        r.children.remove(&self.0);
    }
}

/// Remove `path` (a file, or a folder and its content) if the process exits at once on a
/// signal. Keep the guard next to what removes it normally (declared after it, so it is dropped
/// after it).
pub fn remove_on_fast_exit(path: impl Into<PathBuf>) -> Registered {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    registry().paths.insert(id, path.into());
    Registered(id)
}

/// Kill these processes if the process exits at once on a signal; for as long as the guard
/// lives (drop it once they are reaped).
pub fn kill_on_fast_exit(pids: Vec<u32>) -> Registered {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    registry().children.insert(id, pids);
    Registered(id)
}

/// A private temp folder, removed when dropped or on a fast exit.
pub struct TempDir {
    dir: tempfile::TempDir,
    _registered: Registered,
}

impl TempDir {
    /// Mode 0700: only we can read the credentials and decrypted files it holds.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()?;
        let registered = remove_on_fast_exit(dir.path());
        Ok(TempDir {
            dir,
            _registered: registered,
        })
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// A private (0600) temp file, removed when dropped or on a fast exit.
pub struct TempFile {
    file: tempfile::NamedTempFile,
    _registered: Registered,
}

impl TempFile {
    pub fn new(prefix: &str, suffix: &str) -> std::io::Result<TempFile> {
        let file = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(suffix)
            .tempfile()?;
        let registered = remove_on_fast_exit(file.path());
        Ok(TempFile {
            file,
            _registered: registered,
        })
    }

    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }

    pub fn as_file_mut(&mut self) -> &mut std::fs::File {
        self.file.as_file_mut()
    }
}

/// `signal 9 (SIGKILL)`.
pub fn describe(sig: i32) -> String {
    match signal_hook::low_level::signal_name(sig) {
        Some(name) => format!("signal {sig} ({name})"),
        None => format!("signal {sig}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_signal_or_one_before_any_command_exits_at_once() {
        assert_eq!(exit_now(1, true), None, "the first signal stops cleanly");
        assert!(exit_now(2, true).is_some());
        assert!(
            exit_now(1, false).is_some(),
            "nothing started: nothing to wait for"
        );
    }

    #[test]
    fn a_fast_exit_removes_registered_temp_paths_and_kills_registered_children() {
        let dir = TempDir::new("deploy-test-").unwrap();
        std::fs::write(dir.path().join("kubeconfig"), "x").unwrap();
        let mut file = TempFile::new("deploy-test-", ".yaml").unwrap();
        std::io::Write::write_all(file.as_file_mut(), b"secret").unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let guard = kill_on_fast_exit(vec![child.id()]);
        let (d, f) = (dir.path().to_path_buf(), file.path().to_path_buf());
        // only this test's registrations: other tests run in parallel
        let mine = [dir._registered.0, file._registered.0, guard.0];
        assert_eq!(cleanup(|id| mine.contains(&id)), 2);
        assert!(!d.exists() && !f.exists());
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
        drop(guard);
        // dropping after a cleanup is harmless, and unregisters
        let p = d.clone();
        drop(dir);
        drop(file);
        let r = registry();
        assert!(!r.paths.values().any(|x| *x == p));
    }

    #[test]
    fn signals_are_named() {
        assert_eq!(describe(9), "signal 9 (SIGKILL)");
        assert_eq!(describe(2), "signal 2 (SIGINT)");
    }
}
