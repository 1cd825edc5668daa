//! [`RealRunner`]: starts processes, streams or captures their output in bounded memory,
//! enforces timeouts and forwards Ctrl-C/SIGTERM/SIGHUP to children.

use std::io::PipeReader;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::output::{self, Captured};
use super::wait::{self, Watch};
use super::{CmdError, Output, Reply, Runner};
use crate::cmd::{Cmd, Effect};
use crate::log::Log;
use crate::signals;

/// How long a command that died of SIGINT, SIGTERM or SIGHUP waits for our own handler to see
/// the same signal (sent to the whole process group) before it counts as a failure.
const SIGNAL_HANDLER_WAIT: Duration = Duration::from_millis(500);

/// Starts real processes.
pub struct RealRunner {
    log: Log,
    /// Where relative `cwd`s and programs are resolved (the repo root).
    pub base_dir: Option<PathBuf>,
    /// The most stdout a query may print ([`output::CAPTURE_MAX`]; smaller in tests).
    pub(super) capture_max: usize,
}

impl RealRunner {
    pub fn new(log: Log) -> Self {
        RealRunner {
            log,
            base_dir: None,
            capture_max: output::CAPTURE_MAX,
        }
    }

    /// A runner whose commands run in the repo at `root` (relative paths resolve there).
    pub fn in_repo(root: &std::path::Path, log: &Log) -> Self {
        let mut r = RealRunner::new(log.clone());
        r.base_dir = Some(root.to_path_buf());
        r
    }

    /// The end of `text` for an error message: bounded, scrubbed (before it is cut, so a cut
    /// never shows part of a secret).
    fn tail(&self, cmd: &Cmd, text: &str) -> String {
        output::tail(&scrub(cmd, &self.log.scrub(text)))
    }
}

/// Remove the command's own secrets from text it printed.
fn scrub(cmd: &Cmd, text: &str) -> String {
    mask(text, &cmd.secrets())
}

/// `text` with each of `secrets` (trimmed; an empty one is none) replaced by `***`.
fn mask(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        let s = s.trim();
        if !s.is_empty() {
            out = out.replace(s, "***");
        }
    }
    out
}

/// What a finished command left in its pipes.
struct Pipes {
    /// stdout, or for a streamed command its combined output (the last lines).
    stdout: String,
    stderr: String,
    /// A query printed more than [`output::CAPTURE_MAX`].
    overflow: bool,
}

impl Pipes {
    /// A change's last lines, or nothing (the terminal had it).
    fn streamed(stdout: String) -> Pipes {
        Pipes {
            stdout,
            stderr: String::new(),
            overflow: false,
        }
    }

    fn captured(out: Captured, err: Captured) -> Pipes {
        let mut stderr = err.text();
        if err.dropped > 0 {
            stderr = format!("[… {} bytes not kept]\n{stderr}", err.dropped);
        }
        Pipes {
            stdout: out.text(),
            stderr,
            overflow: out.dropped > 0,
        }
    }
}

/// Where a started command's output goes, read in the calling thread to the pipes' ends (see
/// [`wait`]).
enum Readers {
    /// A change's combined output, logged line by line as it comes.
    Streamed(PipeReader),
    /// A query's stdout and stderr, captured.
    Polled([PipeReader; 2]),
    /// An interactive command uses the terminal.
    Terminal,
}

/// What a pipe always holds without blocking its writer (POSIX `PIPE_BUF`, a page on Linux: a
/// pipe has at least that much room even when the user's pipe buffers are limited).
const PIPE_ROOM: usize = 4096;

/// Start `cmd` (its program found at `program`) in `dir`, its output going where its kind wants
/// it. Queries: stdout and stderr captured separately. Changes: combined output streamed. Our own
/// pipes either way, read with bounded memory; the `Command` (holding our copies of their write
/// ends) is dropped before this returns, so the reads see EOF when the child and its descendants
/// close theirs. `std::process` rather than a wrapper: the environment is copied only for a
/// command that sets some of it, and nothing else is spent per start.
fn start(
    program: &std::path::Path,
    cmd: &Cmd,
    dir: Option<&PathBuf>,
) -> std::io::Result<(Child, Readers)> {
    let mut command = Command::new(program);
    command.args(cmd.argv_clear());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    for (k, v) in &cmd.env {
        command.env(k, v.value());
    }
    // a small input (a Lease manifest) is written into a fresh pipe before the start, which
    // needs no thread; a bigger one is written by a thread once the command runs
    let mut big_input = None;
    match &cmd.stdin {
        Some(input) if input.value().len() <= PIPE_ROOM => {
            let (read, mut write) = std::io::pipe()?;
            std::io::Write::write_all(&mut write, input.value().as_bytes())?;
            drop(write); // the command reads to its end
            command.stdin(read);
        }
        Some(input) => {
            command.stdin(Stdio::piped());
            big_input = Some(input.value().as_bytes().to_vec());
        }
        None if cmd.interactive => {}
        None => {
            command.stdin(Stdio::null());
        }
    }
    let readers = if cmd.interactive {
        Readers::Terminal
    } else if cmd.effect == Effect::Change {
        let (read, write) = std::io::pipe()?;
        command.stdout(write.try_clone()?).stderr(write);
        Readers::Streamed(read)
    } else {
        let (out_r, out_w) = std::io::pipe()?;
        let (err_r, err_w) = std::io::pipe()?;
        command.stdout(out_w).stderr(err_w);
        Readers::Polled([out_r, err_r])
    };
    let mut child = command.spawn()?;
    drop(command);
    if let (Some(bytes), Some(mut stdin)) = (big_input, child.stdin.take()) {
        // (a command that stops reading ends it with EPIPE: what it read is its business)
        let writer = std::thread::Builder::new().spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, &bytes);
        });
        if let Err(e) = writer {
            // not left running unwatched
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    }
    Ok((child, readers))
}

/// A change's output to the log line by line as it comes (a 10-minute build must show progress,
/// and Travis kills silent jobs), its secrets masked, keeping the last lines for the error
/// message.
struct StreamLog<'a> {
    log: &'a Log,
    secrets: Vec<&'a str>,
    kept: output::LastLines,
}

impl StreamLog<'_> {
    fn line(&mut self, bytes: &[u8], dropped: usize) {
        let text = output::line_text(bytes, dropped, |t| {
            self.log
                .partial_secret_suffix(t)
                .max(output::partial_secret_suffix(
                    t,
                    self.secrets.iter().copied(),
                ))
        });
        let line = mask(&text, &self.secrets);
        self.log.output(&line);
        self.kept.push(line);
    }
}

impl Runner for RealRunner {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        self.run_started(cmd, &|| {})
    }

    fn run_started(&self, cmd: &Cmd, started: &dyn Fn()) -> Result<Reply, CmdError> {
        // (made when it is needed: a change's log line, a debug line or an error)
        let line = || cmd.line();
        // from now on a first signal stops cleanly (before, it ends the process at once)
        signals::mark_started();
        if signals::interrupted() && !cmd.cleanup {
            return Err(CmdError::Interrupted { cmd: line() });
        }
        let program = which::which(&cmd.program).map_err(|_| CmdError::NotFound {
            program: cmd.program.clone(),
        })?;
        if cmd.effect == Effect::Change {
            self.log.command(&line());
        } else if self.log.debug_on() {
            self.log.debug(&format!("+ {}", line()));
        }
        if !cmd.env.is_empty() && self.log.debug_on() {
            self.log.debug(&format!("  with {}", cmd.env_line()));
        }
        let spawn_err = |e: std::io::Error| CmdError::Spawn {
            cmd: line(),
            reason: e.to_string(),
        };
        let dir = cmd.cwd.as_ref().or(self.base_dir.as_ref());
        let (mut child, readers) = start(&program, cmd, dir).map_err(spawn_err)?;
        // killed at once if a second signal ends the process before this returns
        let children = signals::kill_on_fast_exit(vec![child.id()]);
        started();

        let mut watch = Watch::new(cmd);
        let (status, pipes) = match readers {
            Readers::Polled(pipes) => {
                let (status, out, err) =
                    wait::captured(&mut child, pipes, self.capture_max, &mut watch, children)
                        .map_err(spawn_err)?;
                (status, Pipes::captured(out, err))
            }
            Readers::Streamed(pipe) => {
                let mut out = StreamLog {
                    log: &self.log,
                    secrets: cmd.secrets(),
                    kept: output::LastLines::default(),
                };
                let mut lines =
                    output::Lines::new(output::LINE_MAX, |b: &[u8], dropped| out.line(b, dropped));
                let status = wait::streamed(&mut child, pipe, &mut lines, &mut watch, children)
                    .map_err(spawn_err)?;
                lines.finish();
                let stdout = out.kept.text();
                (status, Pipes::streamed(stdout))
            }
            Readers::Terminal => {
                let status =
                    wait::in_thread(&mut child, &mut watch, children).map_err(spawn_err)?;
                (status, Pipes::streamed(String::new()))
            }
        };
        let Pipes {
            stdout,
            stderr,
            overflow,
        } = pipes;
        // A private command's stdout (a rendered manifest) must not reach an error message.
        let tail_src = if cmd.private_output || !stderr.trim().is_empty() {
            &stderr
        } else {
            &stdout
        };

        if let Some(was_interrupt) = watch.stopped() {
            return Err(if was_interrupt {
                CmdError::Interrupted { cmd: line() }
            } else {
                CmdError::TimedOut {
                    cmd: line(),
                    after: cmd.timeout.unwrap_or_default(),
                    tail: self.tail(cmd, tail_src),
                }
            });
        }
        // Ctrl-C in a terminal signals the whole process group: the command may have died of it
        // (or exited on it) before we forwarded anything. That is an interruption, not a failure.
        // (Died of a stop signal, it may also have died before our own handler ran: wait for it
        // a moment rather than call the interruption a failure.)
        let died_of_a_stop = status
            .signal()
            .is_some_and(|s| signals::STOP_SIGNALS.contains(&s));
        if !status.success()
            && !cmd.cleanup
            && (signals::interrupted()
                || (died_of_a_stop && signals::wait_interrupted(SIGNAL_HANDLER_WAIT)))
        {
            return Err(CmdError::Interrupted { cmd: line() });
        }
        if overflow {
            return Err(CmdError::TooMuchOutput {
                cmd: line(),
                limit: self.capture_max,
            });
        }
        if matches!(cmd.effect, Effect::LocalQuery | Effect::RemoteQuery)
            && !cmd.private_output
            && !stdout.is_empty()
            && self.log.debug_on()
        {
            // (NUL-separated output, `git … -z`, one per line: a log with NULs is a binary file
            // to grep, whose matches it then hides)
            self.log.debug(&scrub(cmd, &stdout).replace('\0', "\n"));
        }
        let code = status.code();
        if status.success() || cmd.probe {
            return Ok(Reply::Ran(Output {
                code: code.unwrap_or(-1),
                stdout,
                stderr,
                signal: status.signal(),
            }));
        }
        let status = match (code, status.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(sig)) => signals::describe(sig),
            (None, None) => "an unknown status".to_string(),
        };
        Err(CmdError::Failed {
            cmd: line(),
            status,
            tail: self.tail(cmd, tail_src),
        })
    }
}
