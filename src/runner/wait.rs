//! Waiting for a started command: [`Watch`] decides, tick by tick, when it is stopped (a signal,
//! its timeout) and sends the signals; [`captured`] reads a query's two pipes and [`streamed`] a
//! change's combined output, each seeing the command's end in the calling thread (no thread per
//! pipe: `validate` runs thousands of `sops`, a run a few commands per release, and each thread
//! costs about as much as the process start); [`in_thread`] waits for an interactive command.

use std::io::{PipeReader, Read};
use std::os::fd::AsRawFd;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use super::output::{Capture, Captured, Keep, Lines, STDERR_MAX};
use crate::cmd::Cmd;
use crate::signals;

/// How long a command gets to end on its own after Ctrl-C before it is sent SIGTERM. A
/// terminal's Ctrl-C reaches the whole process group, so the command has it too (helm stops on
/// it), and SIGTERM straight after would race its own handling of the first signal. SIGTERM and
/// SIGHUP (a cancelled CI job, a closed terminal) reach deploy alone and are passed on at once.
const CTRL_C_GRACE: Duration = Duration::from_secs(2);
/// How long children get to exit after SIGTERM before SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(10);
/// How long to wait for a pipe's end after its command exited (a daemon it left behind may hold
/// the pipe open).
pub(super) const PIPE_GRACE: Duration = Duration::from_secs(5);
/// How often a running command's signals and timeout are looked at.
const TICK: Duration = Duration::from_millis(50);

/// Whether and why a command is being stopped.
pub(super) struct Watch<'a> {
    cmd: &'a Cmd,
    started: Instant,
    /// (interrupted? (else timed out), when SIGTERM was sent)
    stop: Option<(bool, Instant)>,
    ctrl_c_seen: Option<Instant>,
}

impl<'a> Watch<'a> {
    pub(super) fn new(cmd: &'a Cmd) -> Self {
        Watch {
            cmd,
            started: Instant::now(),
            stop: None,
            ctrl_c_seen: None,
        }
    }

    /// `Some(true)` if the command was stopped because we were interrupted, `Some(false)` if it
    /// timed out.
    pub(super) fn stopped(&self) -> Option<bool> {
        self.stop.map(|(interrupted, _)| interrupted)
    }

    /// Look at the signals and the clock; stop the command (SIGTERM, then SIGKILL) if need be.
    pub(super) fn tick(&mut self, pid: u32) {
        match self.stop {
            None => {
                if let Some((sig, interrupted)) =
                    self.decide(signals::interrupted(), signals::terminated())
                {
                    terminate(pid, sig);
                    self.stop = Some((interrupted, Instant::now()));
                }
            }
            Some((_, since)) if since.elapsed() > KILL_GRACE => terminate(pid, libc::SIGKILL),
            Some(_) => {}
        }
    }

    /// Whether to stop the command now, given what the signal handlers saw (`interrupted`: any
    /// stop signal; `terminated`: SIGTERM or SIGHUP): the signal to send it, and whether that is
    /// an interruption (else its timeout).
    fn decide(&mut self, interrupted: bool, terminated: bool) -> Option<(libc::c_int, bool)> {
        let cmd = self.cmd;
        let timed_out = cmd.timeout.is_some_and(|t| self.started.elapsed() >= t);
        // (a terminal's Ctrl-C reaches an interactive command itself; SIGTERM and SIGHUP, sent
        // to deploy alone, are passed on)
        let signalled = interrupted && !cmd.cleanup;
        if !signalled {
            self.ctrl_c_seen = None; // (a Ctrl-C an interactive command took as its own)
        }
        let stop_now = signalled
            && (terminated
                || self.ctrl_c_seen.get_or_insert_with(Instant::now).elapsed() >= CTRL_C_GRACE);
        let stopped = stop_now || (cmd.interactive && terminated);
        if !stopped && !timed_out {
            return None;
        }
        // (an interactive shell ignores SIGTERM; on SIGHUP it ends, and passes it to its jobs,
        // as when its terminal closes)
        let sig = if cmd.interactive {
            libc::SIGHUP
        } else {
            libc::SIGTERM
        };
        // (a timeout in the Ctrl-C grace is still an interruption)
        Some((sig, signalled || (cmd.interactive && terminated)))
    }
}

/// Send `sig` to the command `pid`, which has not been reaped (so the pid is still its own).
fn terminate(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid we started; failure (already exited) is harmless.
    let pid = libc::pid_t::try_from(pid).unwrap_or(0);
    if pid > 0 {
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Wait for a command that has the terminal. A thread blocks until it has exited, without
/// reaping it, so its end is seen at once; this one wakes up every [`TICK`] to watch it, and reaps
/// it once it has ended (so a signal is never sent to a pid that may be another process's).
pub(super) fn in_thread(
    child: &mut Child,
    watch: &mut Watch,
    children: signals::Registered,
) -> std::io::Result<ExitStatus> {
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(has_ended(pid, 0).map(drop));
    });
    loop {
        match done_rx.recv_timeout(TICK) {
            Ok(Ok(())) => {
                drop(children); // about to be reaped: its pid may then be reused
                return child.wait();
            }
            Ok(Err(e)) => return Err(e),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::other("lost track of the process"));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => watch.tick(pid),
        }
    }
}

/// Whether the child `pid` has ended, without reaping it: `waitid` with `WNOWAIT` and `flags`
/// (`WNOHANG`: answer at once; `0`: block until it has ended).
fn has_ended(pid: u32, flags: libc::c_int) -> std::io::Result<bool> {
    let id = libc::id_t::from(pid);
    loop {
        // SAFETY: waitid(2) on our own child, into a zeroed siginfo_t we own.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                id,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | flags,
            )
        };
        if r == 0 {
            // (with WNOHANG, a child still running leaves si_pid 0)
            // SAFETY: si_pid of the siginfo_t waitid filled in.
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Where what a pipe gives goes, a chunk at a time.
pub(super) trait Sink {
    fn push(&mut self, chunk: &[u8]);
}

impl Sink for Capture {
    fn push(&mut self, chunk: &[u8]) {
        Capture::push(self, chunk);
    }
}

impl<F: FnMut(&[u8], usize)> Sink for Lines<F> {
    fn push(&mut self, chunk: &[u8]) {
        Lines::push(self, chunk);
    }
}

/// Read a query's stdout (its first `max` bytes) and stderr (its end) to their ends and wait for
/// it, in this thread (see [`read_and_wait`]).
pub(super) fn captured(
    child: &mut Child,
    pipes: [PipeReader; 2],
    max: usize,
    watch: &mut Watch,
    children: signals::Registered,
) -> std::io::Result<(ExitStatus, Captured, Captured)> {
    let mut out = Capture::new(Keep::Head(max));
    let mut err = Capture::new(Keep::Tail(STDERR_MAX));
    let status = read_and_wait(child, pipes, [&mut out, &mut err], watch, children)?;
    Ok((status, out.finish(), err.finish()))
}

/// Read a change's combined output to its end, handing it to `lines` as it comes, and wait for
/// it, in this thread (see [`read_and_wait`]).
pub(super) fn streamed(
    child: &mut Child,
    pipe: PipeReader,
    lines: &mut dyn Sink,
    watch: &mut Watch,
    children: signals::Registered,
) -> std::io::Result<ExitStatus> {
    read_and_wait(child, [pipe], [lines], watch, children)
}

/// Read `pipes` into `sinks` to their ends and wait for the command: `poll` on the pipes wakes
/// up for output, at their end (the command's exit, usually) and every [`TICK`] to watch the
/// command. Should it fail (poll or fcntl), the command is not left running unwatched.
///
/// `children` (the command's registration for a second signal's fast exit) is dropped once the
/// command's end is seen and before it is reaped: from then on its pid may be another process's,
/// so nothing signals it.
fn read_and_wait<const N: usize>(
    child: &mut Child,
    pipes: [PipeReader; N],
    sinks: [&mut dyn Sink; N],
    watch: &mut Watch,
    children: signals::Registered,
) -> std::io::Result<ExitStatus> {
    let result = poll_to_the_end(child, pipes, sinks, watch, children);
    // (one already reaped, or one whose state cannot be read, is not signalled: its pid may be
    // another process's)
    if result.is_err() && matches!(child.try_wait(), Ok(None)) {
        terminate(child.id(), libc::SIGKILL);
        let _ = child.wait();
    }
    result
}

/// [`read_and_wait`]'s loop, any failure returned as it comes (the caller cleans up).
fn poll_to_the_end<const N: usize>(
    child: &mut Child,
    pipes: [PipeReader; N],
    sinks: [&mut dyn Sink; N],
    watch: &mut Watch,
    children: signals::Registered,
) -> std::io::Result<ExitStatus> {
    let mut children = Some(children);
    let mut open = [true; N];
    for p in &pipes {
        blocking(p, false)?;
    }
    // (on the stack: a fresh 64 KiB buffer per command is a page fault per 4 KiB of it)
    let mut chunk = [0u8; 16 * 1024];
    let mut exited: Option<(ExitStatus, Instant)> = None;
    // after the pipes' ends, the exit itself follows at once (or the command runs on without
    // its pipes): look for it at growing intervals, up to a tick
    let mut backoff = Duration::from_micros(100);
    loop {
        if open.iter().any(|o| *o) {
            let mut fds: Vec<libc::pollfd> = pipes
                .iter()
                .zip(open)
                .filter(|(_, o)| *o)
                .map(|(p, _)| libc::pollfd {
                    fd: p.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let ms = i32::try_from(TICK.as_millis()).unwrap_or(50);
            // SAFETY: `fds` is a live array of `fds.len()` pollfd structs.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            for (i, p) in pipes.iter().enumerate() {
                if open[i] {
                    open[i] = drain(p, &mut chunk, &mut *sinks[i]);
                }
            }
        } else if exited.is_none() {
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(TICK);
        }
        // (seen ended before it is reaped, so that a second signal's fast exit, which kills
        // the registered pids, never reaches its pid once another process may have it)
        if exited.is_none() && has_ended(child.id(), libc::WNOHANG)? {
            drop(children.take());
            exited = Some((child.wait()?, Instant::now()));
        }
        if let Some((status, at)) = exited
            && (!open.iter().any(|o| *o) || at.elapsed() > PIPE_GRACE)
        {
            // a pipe a process it left behind still holds is read to its end elsewhere: closed,
            // that process would die of SIGPIPE at its next write
            for (pipe, _) in pipes.into_iter().zip(open).filter(|(_, o)| *o) {
                std::thread::spawn(move || {
                    if blocking(&pipe, true).is_ok() {
                        let _ = std::io::copy(&mut &pipe, &mut std::io::sink());
                    }
                });
            }
            return Ok(status);
        }
        if exited.is_none() {
            // (once it has ended, how it ended is settled: a timeout or a Ctrl-C while a process
            // it left behind holds its pipes is not its, and its pid is no longer ours to signal)
            watch.tick(child.id());
        }
    }
}

/// Read what a non-blocking pipe holds now (at most 64 chunks, so that a command that writes
/// without pause is still watched every tick); whether it is still open.
fn drain(mut p: &PipeReader, chunk: &mut [u8], into: &mut dyn Sink) -> bool {
    for _ in 0..64 {
        match p.read(chunk) {
            Ok(0) => return false,
            Ok(n) => into.push(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
    true
}

fn blocking(p: &PipeReader, on: bool) -> std::io::Result<()> {
    let fd = p.as_raw_fd();
    // SAFETY: fcntl(2) on a file descriptor we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = if on {
        flags & !libc::O_NONBLOCK
    } else {
        flags | libc::O_NONBLOCK
    };
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_waits_for_its_grace_sigterm_does_not_and_a_timeout_in_the_grace_is_an_interruption() {
        let cmd = Cmd::new("helm");
        let mut w = Watch::new(&cmd);
        assert_eq!(w.decide(false, false), None);
        assert_eq!(
            w.decide(true, false),
            None,
            "Ctrl-C: the command has it too"
        );
        assert_eq!(
            w.decide(true, true),
            Some((libc::SIGTERM, true)),
            "SIGTERM: at once"
        );
        let cmd = Cmd::new("helm").timeout(Duration::ZERO);
        let mut w = Watch::new(&cmd);
        assert_eq!(
            w.decide(false, false),
            Some((libc::SIGTERM, false)),
            "its timeout"
        );
        assert_eq!(
            w.decide(true, false),
            Some((libc::SIGTERM, true)),
            "Ctrl-C first"
        );
        let mut cleanup = Cmd::new("kubectl").timeout(Duration::ZERO);
        cleanup.cleanup = true;
        let mut w = Watch::new(&cleanup);
        assert_eq!(
            w.decide(true, true),
            Some((libc::SIGTERM, false)),
            "cleanup runs on"
        );
        let shell = Cmd::new("bash").interactive();
        let mut w = Watch::new(&shell);
        assert_eq!(w.decide(false, true), Some((libc::SIGHUP, true)));
    }
}
