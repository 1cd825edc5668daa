//! Running [`Cmd`]s. One trait, three runners:
//! - [`RealRunner`] starts processes (duct), streams their output to the log, enforces timeouts and
//!   forwards Ctrl-C/SIGTERM to children;
//! - [`DryRunner`] prints the redacted command line instead, running only local read-only queries;
//! - [`RecordingRunner`] records calls and answers from a script, for tests.
//!
//! Callers never know which one they hold: that is what keeps `--dry-run` on the real code path.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cmd::{Cmd, Effect};
use crate::report::log::Log;
use crate::signals;

/// What a command printed and how it ended. For a streamed command (an [`Effect::Change`]),
/// `stdout` holds its combined output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(stdout: &str) -> Output {
        Output {
            code: 0,
            stdout: stdout.to_string(),
            stderr: String::new(),
        }
    }
    pub fn failed(code: i32, stderr: &str) -> Output {
        Output {
            code,
            stdout: String::new(),
            stderr: stderr.to_string(),
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
}

impl<R: Runner + ?Sized> Runner for Arc<R> {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        (**self).run(cmd)
    }
}

impl<R: Runner + ?Sized> Runner for &R {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        (**self).run(cmd)
    }
}

const TAIL_LINES: usize = 20;
/// How long children get to exit after SIGTERM before SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// Starts real processes.
pub struct RealRunner {
    log: Log,
    /// Where relative `cwd`s and programs are resolved (the repo root).
    pub base_dir: Option<PathBuf>,
}

impl RealRunner {
    pub fn new(log: Log) -> Self {
        RealRunner {
            log,
            base_dir: None,
        }
    }

    fn tail(&self, cmd: &Cmd, text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(TAIL_LINES);
        scrub(cmd, &self.log.scrub(&lines[start..].join("\n")))
    }
}

/// Remove the command's own secrets from text it printed.
fn scrub(cmd: &Cmd, text: &str) -> String {
    let mut out = text.to_string();
    for s in cmd.secrets() {
        let s = s.trim();
        if !s.is_empty() {
            out = out.replace(s, "***");
        }
    }
    out
}

impl Runner for RealRunner {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        let line = cmd.line();
        if signals::interrupted() && !cmd.cleanup {
            return Err(CmdError::Interrupted { cmd: line });
        }
        let program = which::which(&cmd.program).map_err(|_| CmdError::NotFound {
            program: cmd.program.clone(),
        })?;
        if cmd.effect == Effect::Change {
            self.log.command(&line);
        } else {
            self.log.debug(&format!("+ {line}"));
        }
        if !cmd.env.is_empty() {
            self.log.debug(&format!("  with {}", cmd.env_line()));
        }
        let mut expr = duct::cmd(program, cmd.argv_clear()).unchecked();
        if let Some(dir) = cmd.cwd.as_ref().or(self.base_dir.as_ref()) {
            expr = expr.dir(dir);
        }
        for (k, v) in &cmd.env {
            expr = expr.env(k, v.value());
        }
        expr = match &cmd.stdin {
            Some(input) => expr.stdin_bytes(input.value().as_bytes().to_vec()),
            None => expr.stdin_null(),
        };
        let spawn_err = |e: std::io::Error| CmdError::Spawn {
            cmd: line.clone(),
            reason: e.to_string(),
        };

        // Queries: capture stdout and stderr separately. Changes: stream combined output to the
        // log as it comes (a 10-minute build must show progress, and Travis kills silent jobs),
        // keeping it for the error tail.
        let (handle, streamer) = if cmd.effect == Effect::Change {
            let (reader, writer) = os_pipe::pipe().map_err(spawn_err)?;
            let writer2 = writer.try_clone().map_err(spawn_err)?;
            let handle = expr
                .stdout_file(writer)
                .stderr_file(writer2)
                .start()
                .map_err(spawn_err)?;
            // `expr` (holding our copies of the pipe's write end) is consumed above, so the
            // reader sees EOF when the child and its descendants close theirs.
            let log = self.log.clone();
            let secrets: Vec<String> = cmd.secrets().iter().map(|s| s.to_string()).collect();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                // Keep the end only: a long build's output must not pile up in memory.
                let mut kept = VecDeque::new();
                for line in BufReader::new(reader).lines() {
                    let Ok(mut line) = line else { break };
                    for s in &secrets {
                        if !s.trim().is_empty() {
                            line = line.replace(s.trim(), "***");
                        }
                    }
                    log.output(&line);
                    kept.push_back(line);
                    if kept.len() > 200 {
                        kept.pop_front();
                    }
                }
                let _ = tx.send(kept.into_iter().map(|l| l + "\n").collect::<String>());
            });
            (handle, Some(rx))
        } else {
            let h = expr
                .stdout_capture()
                .stderr_capture()
                .start()
                .map_err(spawn_err)?;
            (h, None)
        };

        let started = Instant::now();
        // A thread blocks in wait() so the end of the command is seen at once (a polling loop
        // adds its interval to every command, which adds up over a run of many releases); this
        // thread wakes up regularly only to forward signals and enforce the timeout.
        let handle = Arc::new(handle);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        {
            let h = Arc::clone(&handle);
            std::thread::spawn(move || {
                let _ = done_tx.send(h.wait().cloned());
            });
        }
        let mut stop: Option<(bool, Instant)> = None; // (interrupted?, when SIGTERM was sent)
        let output = loop {
            match done_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(out)) => break out,
                Ok(Err(e)) => return Err(spawn_err(e)),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(spawn_err(std::io::Error::other(
                        "lost track of the process",
                    )));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            match stop {
                None => {
                    let timed_out = cmd.timeout.is_some_and(|t| started.elapsed() >= t);
                    if (signals::interrupted() && !cmd.cleanup) || timed_out {
                        terminate(&handle, libc::SIGTERM);
                        stop = Some((!timed_out, Instant::now()));
                    }
                }
                Some((_, since)) if since.elapsed() > KILL_GRACE => {
                    terminate(&handle, libc::SIGKILL);
                }
                Some(_) => {}
            }
        };
        // A daemon the command left behind may hold the pipe open: do not wait for it forever.
        let streamed =
            streamer.map(|rx| rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default());
        let stdout =
            streamed.unwrap_or_else(|| String::from_utf8_lossy(&output.stdout).into_owned());
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let code = output.status.code();
        // A private command's stdout (a rendered manifest) must not reach an error message.
        let tail_src = if cmd.private_output || !stderr.trim().is_empty() {
            stderr.clone()
        } else {
            stdout.clone()
        };

        if let Some((was_interrupt, _)) = stop {
            return Err(if was_interrupt {
                CmdError::Interrupted { cmd: line }
            } else {
                CmdError::TimedOut {
                    cmd: line,
                    after: cmd.timeout.unwrap_or_default(),
                    tail: self.tail(cmd, &tail_src),
                }
            });
        }
        if matches!(cmd.effect, Effect::LocalQuery | Effect::RemoteQuery)
            && !cmd.private_output
            && !stdout.is_empty()
        {
            self.log.debug(&scrub(cmd, &stdout));
        }
        let out = Output {
            code: code.unwrap_or(-1),
            stdout,
            stderr,
        };
        if out.success() || cmd.probe {
            return Ok(Reply::Ran(out));
        }
        let status = match code {
            Some(c) => format!("exit status {c}"),
            None => "a signal".to_string(),
        };
        Err(CmdError::Failed {
            cmd: line,
            status,
            tail: self.tail(cmd, &tail_src),
        })
    }
}

fn terminate(handle: &duct::Handle, sig: libc::c_int) {
    for pid in handle.pids() {
        // SAFETY: kill(2) with a pid we started; failure (already exited) is harmless.
        let pid = libc::pid_t::try_from(pid).unwrap_or(0);
        if pid > 0 {
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::log::{Ci, SharedBuf, Verbosity};

    fn real() -> (RealRunner, SharedBuf) {
        let buf = SharedBuf::default();
        let log = Log::with_sink(Verbosity::Normal, Ci::Plain, Box::new(buf.clone()));
        (RealRunner::new(log), buf)
    }

    #[test]
    fn real_runner_captures_query_output() {
        let (r, _) = real();
        let c = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .local_query();
        let Reply::Ran(out) = r.run(&c).unwrap() else {
            panic!("not run")
        };
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn real_runner_streams_changes_and_reports_failures_with_tail() {
        let (r, buf) = real();
        let c = Cmd::new("sh").args(["-c", "echo one; echo two >&2; exit 3"]);
        let err = r.run(&c).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("`sh -c 'echo one; echo two >&2; exit 3'` failed with exit status 3"),
            "{msg}"
        );
        assert!(msg.contains("  | one\n  | two"), "{msg}");
        assert!(buf.text().contains("  one\n"), "{}", buf.text());
    }

    #[test]
    fn real_runner_probe_answers_no_without_error() {
        let (r, _) = real();
        let c = Cmd::new("sh").args(["-c", "exit 1"]).remote_probe();
        assert_eq!(
            r.run(&c).unwrap(),
            Reply::Ran(Output {
                code: 1,
                ..Output::default()
            })
        );
    }

    #[test]
    fn real_runner_passes_secret_stdin_and_scrubs_it() {
        let (r, buf) = real();
        let c = Cmd::new("sh")
            .args(["-c", "read pw; echo got $pw; exit 1"])
            .secret_stdin("hunter2");
        let msg = r.run(&c).unwrap_err().to_string();
        assert!(msg.contains("got ***"), "{msg}");
        assert!(!msg.contains("hunter2") && !buf.text().contains("hunter2"));
    }

    #[test]
    fn real_runner_times_out() {
        let (r, _) = real();
        let c = Cmd::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(100));
        let t = Instant::now();
        assert!(matches!(r.run(&c), Err(CmdError::TimedOut { .. })));
        assert!(t.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn missing_program_is_named() {
        let (r, _) = real();
        let err = r.run(&Cmd::new("no-such-program-xyz")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`no-such-program-xyz` was not found on PATH; install it or fix PATH"
        );
    }

    #[test]
    fn dry_runner_prints_changes_and_runs_local_queries() {
        let (real, _) = real();
        let out = SharedBuf::default();
        let dry = DryRunner::new(real, Box::new(out.clone()));
        let q = Cmd::new("echo").arg("tag").local_query();
        assert!(matches!(dry.run(&q).unwrap(), Reply::Ran(o) if o.stdout == "tag\n"));
        let c = Cmd::new("rm")
            .args(["-rf", "/nonexistent-dir"])
            .note("if asked");
        assert_eq!(dry.run(&c).unwrap(), Reply::NotRun);
        assert_eq!(out.text(), "rm -rf /nonexistent-dir (if asked)\n");
    }
}
