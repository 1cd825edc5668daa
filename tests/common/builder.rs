//! [`Test`]: one run of the real `deploy` binary in a [`Fixture`], written as one chain: what to
//! run (arguments, environment, stdin, changes to the fixture), then what must come out (exit
//! status, stdout, stderr, the fake tools' calls), then [`Test::run`], which checks it all and
//! panics with a readable report (the command, and for each unmet expectation what was expected
//! and what came, as a diff where exact text differs).
//!
//! ```ignore
//! Test::example()
//!     .write("deploy.yaml", "helm:\n  timeout: 600\n")
//!     .args(["ea-hub", "--deploy"])
//!     .status(2)
//!     .stderr_contains("helm.timeout: a bare number")
//!     .no_calls()
//!     .run();
//! ```
//!
//! The idea follows casey/just's `tests/test.rs`. The exit status is always checked (0 unless
//! [`Test::status`] says otherwise); stdout, stderr and calls only when the test states them.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Deref;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use super::Fixture;

/// The fixture a [`Test`] runs in: its own, or one the test keeps for several runs.
pub enum Held<'f> {
    Owned(Fixture),
    Borrowed(&'f Fixture),
}

impl Deref for Held<'_> {
    type Target = Fixture;
    fn deref(&self) -> &Fixture {
        match self {
            Held::Owned(f) => f,
            Held::Borrowed(f) => f,
        }
    }
}

/// A run of `deploy` and what it must do; see the module documentation.
#[must_use = "a Test runs nothing until .run()"]
pub struct Test<'f> {
    fixture: Held<'f>,
    args: Vec<OsString>,
    /// In order; `None` removes the variable.
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Vec<u8>,
    dir: Option<PathBuf>,
    context: Vec<String>,
    status: i32,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
    stderr: Option<String>,
    stderr_contains: Vec<String>,
    calls: Option<Vec<String>>,
}

/// What a [`Test`] run did, once every expectation held.
pub struct Output<'f> {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The fake tools' calls made during this run, one "<tool> <argv>" each.
    pub calls: Vec<String>,
    pub fixture: Held<'f>,
}

impl Output<'_> {
    /// stdout, parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// stdout followed by stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Test<'static> {
    /// In a fresh copy of the example legacy repo ([`Fixture::example`]).
    pub fn example() -> Self {
        Test::on(Fixture::example())
    }

    /// In a fresh copy of examples/multi-cluster ([`Fixture::multi`]).
    pub fn multi() -> Self {
        Test::on(Fixture::multi())
    }

    /// In an empty git repo ([`Fixture::empty`]).
    pub fn empty() -> Self {
        Test::on(Fixture::empty())
    }

    /// In `fixture`, which the [`Output`] hands back.
    pub fn on(fixture: Fixture) -> Self {
        Test::new(Held::Owned(fixture))
    }
}

impl<'f> Test<'f> {
    /// In `fixture`, which the test keeps ([`Fixture::test`]).
    pub fn borrowing(fixture: &'f Fixture) -> Self {
        Test::new(Held::Borrowed(fixture))
    }

    fn new(fixture: Held<'f>) -> Self {
        Test {
            fixture,
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
            dir: None,
            context: Vec::new(),
            status: 0,
            stdout: None,
            stdout_contains: Vec::new(),
            stderr: None,
            stderr_contains: Vec::new(),
            calls: None,
        }
    }

    /// The fixture, to compute expectations from it (a tag, a password).
    pub fn fixture(&self) -> &Fixture {
        &self.fixture
    }

    // ---- what to run ----

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Set a variable for this run (after the fixture's own: PATH can be replaced).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// What `deploy` reads on stdin (nothing, at once closed, unless given).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = input.into();
        self
    }

    /// Run in `dir` instead of the fixture's repo.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// A line shown first in the failure report (which row of a table this is, say).
    pub fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.context.push(what.to_string());
        self
    }

    // ---- changes to the fixture, made at once, in order ----

    /// Write a file of the repo (not committed).
    pub fn write(self, rel: &str, content: impl AsRef<[u8]>) -> Self {
        self.fixture.write(rel, content);
        self
    }

    /// Remove a file of the repo.
    pub fn remove(self, rel: &str) -> Self {
        self.fixture.remove(rel);
        self
    }

    pub fn commit_all(self, msg: &str) -> Self {
        self.fixture.commit_all(msg);
        self
    }

    /// Take a fake tool (or git) off PATH.
    pub fn remove_tool(self, name: &str) -> Self {
        self.fixture.remove_tool(name);
        self
    }

    /// What the fake `kubectl get deployments` lists.
    pub fn deployments(self, names: &[&str]) -> Self {
        self.fixture.set_deployments(names);
        self
    }

    /// The chart's current image tag is in the fake registry ([`Fixture::pushed`]).
    pub fn pushed(self, chart: &str) -> Self {
        self.fixture.pushed(chart);
        self
    }

    // ---- what must come out ----

    /// The exit status (0 when not given).
    pub fn status(mut self, code: i32) -> Self {
        self.status = code;
        self
    }

    /// stdout, exactly.
    pub fn stdout(mut self, text: impl Into<String>) -> Self {
        self.stdout = Some(text.into());
        self
    }

    /// stdout contains `text` (each one given).
    pub fn stdout_contains(mut self, text: impl Into<String>) -> Self {
        self.stdout_contains.push(text.into());
        self
    }

    /// stderr, exactly.
    pub fn stderr(mut self, text: impl Into<String>) -> Self {
        self.stderr = Some(text.into());
        self
    }

    /// stderr contains `text` (each one given).
    pub fn stderr_contains(mut self, text: impl Into<String>) -> Self {
        self.stderr_contains.push(text.into());
        self
    }

    /// The fake tools' calls during this run, exactly and in order ("<tool> <argv>" each).
    pub fn calls<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, calls: I) -> Self {
        self.calls = Some(calls.into_iter().map(|c| c.as_ref().to_string()).collect());
        self
    }

    /// No fake tool was called during this run.
    pub fn no_calls(self) -> Self {
        self.calls(Vec::<String>::new())
    }

    /// Run `deploy`, check every expectation, panic with a report if one does not hold.
    #[track_caller]
    pub fn run(self) -> Output<'f> {
        let before = self.fixture.calls().len();
        let mut cmd = self.fixture.command();
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.command_line()));
        let mut stdin = child.stdin.take().unwrap();
        let input = self.stdin.clone();
        // a thread: deploy may not read it all before writing more than a pipe holds
        let writer = std::thread::spawn(move || {
            // deploy need not read its stdin: a closed pipe is not the test's failure
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        let calls = self
            .fixture
            .calls()
            .get(before..)
            .unwrap_or_default()
            .to_vec();
        let output = Output {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            calls,
            fixture: Held::Borrowed(&self.fixture),
        };
        let problems = self.problems(&output);
        if !problems.is_empty() {
            panic!("{}", self.report(&problems, &output));
        }
        let Output {
            status,
            stdout,
            stderr,
            calls,
            ..
        } = output;
        Output {
            status,
            stdout,
            stderr,
            calls,
            fixture: self.fixture,
        }
    }

    /// Each unmet expectation, described.
    fn problems(&self, out: &Output) -> Vec<String> {
        let mut p = Vec::new();
        if out.status.code() != Some(self.status) {
            p.push(format!(
                "status: expected {}, got {}",
                self.status,
                describe(out.status)
            ));
        }
        for (name, want, have, contains) in [
            ("stdout", &self.stdout, &out.stdout, &self.stdout_contains),
            ("stderr", &self.stderr, &out.stderr, &self.stderr_contains),
        ] {
            if let Some(want) = want
                && want != have
            {
                p.push(format!(
                    "{name}: not the expected text (- expected, + actual):\n{}",
                    diff(want, have)
                ));
            }
            for c in contains.iter().filter(|c| !have.contains(c.as_str())) {
                p.push(format!("{name}: does not contain {c:?}"));
            }
        }
        if let Some(want) = &self.calls
            && *want != out.calls
        {
            let lines = |v: &[String]| v.iter().map(|c| format!("{c}\n")).collect::<String>();
            p.push(format!(
                "calls: not the expected ones (- expected, + actual):\n{}",
                diff(&lines(want), &lines(&out.calls))
            ));
        }
        p
    }

    fn report(&self, problems: &[String], out: &Output) -> String {
        let mut r = format!(
            "`deploy` did not do what the test expected ({} problem{})\n",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for c in &self.context {
            let _ = writeln!(r, "context: {c}");
        }
        let _ = writeln!(r, "command: {}", self.command_line());
        for p in problems {
            let _ = writeln!(r, "* {p}");
        }
        let _ = writeln!(r, "status: {}", describe(out.status));
        for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let _ = writeln!(r, "--- {name} ({} bytes) ---\n{}", text.len(), clip(text));
        }
        let _ = writeln!(r, "--- calls during the run ({}) ---", out.calls.len());
        for c in &out.calls {
            let _ = writeln!(r, "{c}");
        }
        r
    }

    /// The run as a shell line: folder, the test's own environment, arguments.
    fn command_line(&self) -> String {
        let dir = self.dir.as_deref().unwrap_or(&self.fixture.root);
        let mut line = format!("cd {} && ", quote(dir.as_os_str()));
        for (k, v) in &self.env {
            match v {
                Some(v) => {
                    let _ = write!(line, "{}={} ", k.to_string_lossy(), quote(v));
                }
                None => {
                    let _ = write!(line, "(without {}) ", k.to_string_lossy());
                }
            }
        }
        line.push_str("deploy");
        for a in &self.args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        if !self.stdin.is_empty() {
            let _ = write!(line, " <<< {:?}", String::from_utf8_lossy(&self.stdin));
        }
        line
    }
}

fn describe(s: ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(c), _) => c.to_string(),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => s.to_string(),
    }
}

/// A unified diff of two texts, line by line.
fn diff(want: &str, have: &str) -> String {
    similar::TextDiff::from_lines(want, have)
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .to_string()
}

/// Shell-quote one word when it needs it.
fn quote(word: &OsStr) -> String {
    let w = word.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !w.is_empty() && w.chars().all(plain) {
        w.into_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// A long output's beginning and end (a report stays readable with megabytes of output).
fn clip(text: &str) -> String {
    const HEAD: usize = 4 * 1024;
    const TAIL: usize = 12 * 1024;
    if text.len() <= HEAD + TAIL {
        return text.to_string();
    }
    let mut h = HEAD;
    while !text.is_char_boundary(h) {
        h -= 1;
    }
    let mut t = text.len() - TAIL;
    while !text.is_char_boundary(t) {
        t += 1;
    }
    format!(
        "{}\n[… {} bytes not shown …]\n{}",
        &text[..h],
        t - h,
        &text[t..]
    )
}
