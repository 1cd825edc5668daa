use std::time::{Duration, Instant};

use super::*;
use crate::log::{Ci, Log, SharedBuf, Verbosity};

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
fn output_that_is_not_utf8_is_decoded_and_the_command_keeps_its_pipe() {
    let (r, buf) = real();
    // one \xe9 byte, then more output: a reader that stops there kills the child by SIGPIPE
    let c = Cmd::new("sh").args(["-c", "printf 'caf\\351\\n'; sleep 0.2; echo after"]);
    assert!(r.run(&c).is_ok(), "{}", buf.text());
    assert!(buf.text().contains("caf\u{fffd}\n"), "{}", buf.text());
    assert!(buf.text().contains("  after\n"), "{}", buf.text());
}

#[test]
fn a_huge_line_is_cut_in_the_log_and_in_the_error() {
    let (r, buf) = real();
    let c = Cmd::new("sh").args([
        "-c",
        "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo done; exit 3",
    ]);
    let msg = r.run(&c).unwrap_err().to_string();
    assert!(msg.len() < 8 * 1024, "{} bytes", msg.len());
    assert!(
        msg.contains(" more bytes]\n  | done"),
        "{}",
        &msg[msg.len() - 200..]
    );
    let log = buf.text();
    assert!(log.len() < output::LINE_MAX + 1024, "{} bytes", log.len());
    assert!(
        log.contains(&format!(
            " … [{} more bytes of this line not shown]\n  done\n",
            5_000_000 - output::LINE_MAX
        )),
        "{}",
        &log[log.len() - 200..]
    );
}

#[test]
fn a_query_printing_too_much_fails_without_keeping_it() {
    let (mut r, _) = real();
    r.capture_max = 1000;
    let c = Cmd::new("sh")
        .args(["-c", "head -c 100000 /dev/zero; echo end >&2"])
        .local_query();
    assert_eq!(
        r.run(&c).unwrap_err().to_string(),
        "`sh -c 'head -c 100000 /dev/zero; echo end >&2'` printed more than 1000 bytes on \
         stdout; its output was not used"
    );
}

#[test]
fn a_command_killed_by_a_signal_names_it() {
    let (r, _) = real();
    let c = Cmd::new("sh").args(["-c", "kill -KILL $$"]);
    let msg = r.run(&c).unwrap_err().to_string();
    assert_eq!(
        msg,
        "`sh -c 'kill -KILL $$'` failed with signal 9 (SIGKILL)"
    );
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

/// Run a query, returning its output and how long it took.
fn query(script: &str, timeout: Option<Duration>) -> (Result<Reply, CmdError>, Duration) {
    let (r, _) = real();
    let mut c = Cmd::new("sh").args(["-c", script]).local_probe();
    if let Some(t) = timeout {
        c = c.timeout(t);
    }
    let t = Instant::now();
    (r.run(&c), t.elapsed())
}

fn ran(reply: Result<Reply, CmdError>) -> Output {
    match reply {
        Ok(Reply::Ran(out)) => out,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_query_filling_both_pipes_is_read_to_both_ends() {
    // more than a pipe holds on each, stderr first: a reader of one pipe at a time would hang
    let (reply, _) = query(
        "head -c 300000 /dev/zero | tr '\\0' e >&2; head -c 300000 /dev/zero | tr '\\0' o",
        None,
    );
    let out = ran(reply);
    assert_eq!(out.stdout.len(), 300_000);
    assert!(out.stdout.bytes().all(|b| b == b'o'));
    assert_eq!(out.stderr.len(), 300_000);
}

#[test]
fn a_query_that_closes_its_pipes_and_runs_on_is_waited_for() {
    let (reply, took) = query("echo said; exec >&- 2>&-; sleep 0.3; exit 3", None);
    let out = ran(reply);
    assert_eq!((out.code, out.stdout.as_str()), (3, "said\n"));
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

#[test]
fn a_query_that_closed_its_pipes_still_times_out() {
    let (reply, took) = query("exec >&- 2>&-; sleep 30", Some(Duration::from_millis(200)));
    assert!(matches!(reply, Err(CmdError::TimedOut { .. })), "{reply:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_query_whose_daemon_holds_its_pipe_ends_with_what_it_printed() {
    // the background process keeps stdout open after the command exited, and writes to it
    // after we stopped waiting: it must not die of SIGPIPE for that
    let tmp = tempfile::tempdir().unwrap();
    let mark = tmp.path().join("still-alive");
    let script = format!(
        "echo started; (sleep 6; echo later; touch '{}') & exit 0",
        mark.display()
    );
    let (reply, took) = query(&script, None);
    let out = ran(reply);
    assert_eq!((out.code, out.stdout.as_str()), (0, "started\n"));
    assert!(took < Duration::from_secs(6), "{took:?}");
    let t = Instant::now();
    while !mark.exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "the daemon died");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_query_that_ended_well_is_not_timed_out_while_its_leftover_holds_the_pipe() {
    // its timeout passes while deploy still reads the pipe a background process holds: the
    // command itself ended well, in time
    let (reply, _) = query(
        "echo hi; (sleep 2) & exit 0",
        Some(Duration::from_millis(500)),
    );
    let out = ran(reply);
    assert_eq!((out.code, out.stdout.as_str()), (0, "hi\n"));
}

#[test]
fn a_change_is_logged_line_by_line_while_it_runs() {
    let (r, buf) = real();
    let c = Cmd::new("sh").args(["-c", "echo first; sleep 1; printf second"]);
    std::thread::scope(|s| {
        let h = s.spawn(|| r.run(&c));
        let t = Instant::now();
        while !buf.text().contains("  first\n") {
            assert!(t.elapsed() < Duration::from_millis(900), "{}", buf.text());
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!h.is_finished(), "logged only at its end");
        let Reply::Ran(out) = h.join().unwrap().unwrap() else {
            panic!("not run")
        };
        assert_eq!(out.stdout, "first\nsecond\n", "its last lines");
    });
    assert!(buf.text().contains("  second\n"), "{}", buf.text());
}

#[test]
fn a_change_whose_daemon_holds_its_pipe_ends_with_what_it_printed() {
    let (r, buf) = real();
    let tmp = tempfile::tempdir().unwrap();
    let mark = tmp.path().join("still-alive");
    let script = format!(
        "echo started; (sleep 6; echo later; touch '{}') & exit 0",
        mark.display()
    );
    let t = Instant::now();
    let Reply::Ran(out) = r.run(&Cmd::new("sh").args(["-c", &script])).unwrap() else {
        panic!("not run")
    };
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert_eq!((out.code, out.stdout.as_str()), (0, "started\n"));
    assert!(buf.text().contains("  started\n"), "{}", buf.text());
    while !mark.exists() {
        assert!(t.elapsed() < Duration::from_secs(12), "the daemon died");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stdin_reaches_the_command_whole_small_or_big() {
    let (r, _) = real();
    for n in [0usize, 1, 4096, 4097, 300_000] {
        let input = "x".repeat(n);
        let c = Cmd::new("wc")
            .arg("-c")
            .stdin_doc(&input, "x")
            .local_query();
        let Reply::Ran(out) = r.run(&c).unwrap() else {
            panic!("not run")
        };
        assert_eq!(out.stdout.trim(), n.to_string());
    }
}

#[test]
fn an_interactive_command_ends_as_it_exits_and_a_timeout_stops_it() {
    let (r, _) = real();
    let t = Instant::now();
    // (its exit code is the user's: an answer, not an error)
    let c = Cmd::new("sh").args(["-c", "exit 3"]).interactive();
    let Reply::Ran(out) = r.run(&c).unwrap() else {
        panic!("not run")
    };
    assert_eq!(out.code, 3);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // its end seen at once, not at the next look (a tick is 50 ms): the best of three, as the
    // suite's load may delay any one
    let fastest = (0..3)
        .map(|_| {
            let t = Instant::now();
            r.run(&Cmd::new("true").interactive()).unwrap();
            t.elapsed()
        })
        .min()
        .unwrap();
    assert!(fastest < Duration::from_millis(45), "{fastest:?}");
    // an interactive command is sent SIGHUP at its timeout
    let t = Instant::now();
    let c = Cmd::new("sleep")
        .arg("30")
        .interactive()
        .timeout(Duration::from_millis(200));
    let err = r.run(&c).unwrap_err();
    assert!(matches!(err, CmdError::TimedOut { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn a_query_and_its_output_are_debug_lines_written_only_when_verbose() {
    for (verbosity, shown) in [(Verbosity::Normal, false), (Verbosity::Verbose, true)] {
        let buf = SharedBuf::default();
        let log = Log::with_sink(verbosity, Ci::Plain, Box::new(buf.clone()));
        let r = RealRunner::new(log);
        let c = Cmd::new("sh")
            .args(["-c", "printf 'a\\0b'"])
            .env("SOME_VAR", "x")
            .local_query();
        r.run(&c).unwrap();
        let text = buf.text();
        assert_eq!(text.contains("+ sh -c"), shown, "{text}");
        assert_eq!(text.contains("with SOME_VAR"), shown, "{text}");
        // (NUL-separated output one per line)
        assert_eq!(text.contains("a\nb"), shown, "{text}");
        if !shown {
            assert_eq!(text, "");
        }
    }
}
