//! [`RealRunner`]: starts processes, streams or captures their output in bounded memory,
//! enforces timeouts and forwards Ctrl-C/SIGTERM/SIGHUP to children.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
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
    Streamed(os_pipe::PipeReader),
    /// A query's stdout and stderr, captured.
    Polled([os_pipe::PipeReader; 2]),
    /// An interactive command uses the terminal.
    Terminal,
}

/// What a pipe always holds without blocking its writer (POSIX `PIPE_BUF`, a page on Linux: a
/// pipe has at least that much room even when the user's pipe buffers are limited).
const PIPE_ROOM: usize = 4096;

/// `expr` reading `input` on its stdin: a small input (a Lease manifest) is written into a fresh
/// pipe before the start, which needs no thread; a bigger one is written by duct's thread.
fn with_stdin(expr: duct::Expression, input: &[u8]) -> std::io::Result<duct::Expression> {
    if input.len() > PIPE_ROOM {
        return Ok(expr.stdin_bytes(input.to_vec()));
    }
    let (read, mut write) = os_pipe::pipe()?;
    std::io::Write::write_all(&mut write, input)?;
    drop(write); // the command reads to its end
    Ok(expr.stdin_file(read))
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
        let line = cmd.line();
        // from now on a first signal stops cleanly (before, it ends the process at once)
        signals::mark_started();
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
            Some(input) => {
                with_stdin(expr, input.value().as_bytes()).map_err(|e| CmdError::Spawn {
                    cmd: line.clone(),
                    reason: e.to_string(),
                })?
            }
            None if cmd.interactive => expr,
            None => expr.stdin_null(),
        };
        let spawn_err = |e: std::io::Error| CmdError::Spawn {
            cmd: line.clone(),
            reason: e.to_string(),
        };

        // Queries: capture stdout and stderr separately. Changes: stream combined output. Our
        // own pipes either way, read with bounded memory. `expr` (holding our copies of the write
        // ends) is consumed by `start`, so the reads see EOF when the child and its descendants
        // close theirs.
        let (handle, readers) = if cmd.interactive {
            (expr.start().map_err(spawn_err)?, Readers::Terminal)
        } else if cmd.effect == Effect::Change {
            let (read, write) = os_pipe::pipe().map_err(spawn_err)?;
            let write2 = write.try_clone().map_err(spawn_err)?;
            let handle = expr
                .stdout_file(write)
                .stderr_file(write2)
                .start()
                .map_err(spawn_err)?;
            (handle, Readers::Streamed(read))
        } else {
            let (out_r, out_w) = os_pipe::pipe().map_err(spawn_err)?;
            let (err_r, err_w) = os_pipe::pipe().map_err(spawn_err)?;
            let handle = expr
                .stdout_file(out_w)
                .stderr_file(err_w)
                .start()
                .map_err(spawn_err)?;
            (handle, Readers::Polled([out_r, err_r]))
        };
        // killed at once if a second signal ends the process before this returns
        let children = signals::kill_on_fast_exit(handle.pids());
        started();

        let mut watch = Watch::new(cmd);
        let (status, pipes) = match readers {
            Readers::Polled(pipes) => {
                let (status, out, err) =
                    wait::captured(&handle, pipes, self.capture_max, &mut watch, children)
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
                let status = wait::streamed(&handle, pipe, &mut lines, &mut watch, children)
                    .map_err(spawn_err)?;
                lines.finish();
                let stdout = out.kept.text();
                (status, Pipes::streamed(stdout))
            }
            Readers::Terminal => {
                let status = wait::in_thread(handle, &mut watch).map_err(spawn_err)?;
                drop(children); // reaped: its pid may be reused
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
                CmdError::Interrupted { cmd: line }
            } else {
                CmdError::TimedOut {
                    cmd: line,
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
            return Err(CmdError::Interrupted { cmd: line });
        }
        if overflow {
            return Err(CmdError::TooMuchOutput {
                cmd: line,
                limit: self.capture_max,
            });
        }
        if matches!(cmd.effect, Effect::LocalQuery | Effect::RemoteQuery)
            && !cmd.private_output
            && !stdout.is_empty()
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
            cmd: line,
            status,
            tail: self.tail(cmd, tail_src),
        })
    }
}
