//! Progress and diagnostics on stderr, shaped for where we run: GitHub Actions groups and masks,
//! Travis folds, or plain lines. stdout is kept for results (dry-run command lists, plans).
//!
//! Every line goes through [`Log::scrub`], which replaces each secret value registered with
//! [`Log::mask`] by `***`, so a child that echoes a password cannot leak it through us.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The shortest line of a multi-line secret that is masked on its own.
pub const MIN_LINE: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ci {
    Plain,
    GitHub,
    Travis,
}

impl Ci {
    /// GitHub Actions sets `GITHUB_ACTIONS=true`, Travis sets `TRAVIS=true`.
    pub fn detect() -> Ci {
        let is = |k: &str| std::env::var(k).is_ok_and(|v| v == "true");
        if is("GITHUB_ACTIONS") {
            Ci::GitHub
        } else if is("TRAVIS") {
            Ci::Travis
        } else {
            Ci::Plain
        }
    }
}

#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

struct Inner {
    verbosity: Verbosity,
    ci: Ci,
    /// Shared with child logs: a secret registered anywhere is scrubbed everywhere.
    secrets: Arc<Mutex<Vec<String>>>,
    sink: Mutex<Box<dyn Write + Send>>,
    /// A child log's parent: where `::add-mask::` goes at once.
    parent: Option<Log>,
}

impl Log {
    pub fn new(verbosity: Verbosity, ci: Ci) -> Log {
        Log::with_sink(verbosity, ci, Box::new(std::io::stderr()))
    }

    pub fn with_sink(verbosity: Verbosity, ci: Ci, sink: Box<dyn Write + Send>) -> Log {
        Log {
            inner: Arc::new(Inner {
                verbosity,
                ci,
                secrets: Arc::new(Mutex::new(Vec::new())),
                sink: Mutex::new(sink),
                parent: None,
            }),
        }
    }

    /// A log writing into a buffer (one release's output, shown when it ends), with the same
    /// settings and secrets as this one.
    pub fn buffered_child(&self) -> (Log, SharedBuf) {
        let buf = SharedBuf::default();
        (self.child(self.inner.verbosity, Box::new(buf.clone())), buf)
    }

    /// The log of one release (`label`): buffered and shown when it ends ([`Log::buffered_child`]),
    /// or with `-v` streamed as it comes, each line prefixed with `[label] ` (the buffer then
    /// stays empty).
    pub fn release_child(&self, label: &str) -> (Log, SharedBuf) {
        if self.inner.verbosity < Verbosity::Verbose {
            return self.buffered_child();
        }
        let sink = Prefixed {
            parent: self.clone(),
            prefix: format!("[{label}] "),
            partial: Vec::new(),
        };
        (
            self.child(self.inner.verbosity, Box::new(sink)),
            SharedBuf::default(),
        )
    }

    /// A log with the same secrets and CI, writing to stderr at another verbosity (warnings still
    /// go through this one).
    pub fn with_verbosity(&self, verbosity: Verbosity) -> Log {
        self.child(verbosity, Box::new(std::io::stderr()))
    }

    /// A log writing to `sink` at `verbosity`, with this one's CI and secrets, this one its
    /// parent (warnings and masks go through it).
    fn child(&self, verbosity: Verbosity, sink: Box<dyn Write + Send>) -> Log {
        Log {
            inner: Arc::new(Inner {
                verbosity,
                ci: self.inner.ci,
                secrets: Arc::clone(&self.inner.secrets),
                sink: Mutex::new(sink),
                parent: Some(self.clone()),
            }),
        }
    }

    /// Write text verbatim (already scrubbed, e.g. a child's buffer).
    pub fn write_raw(&self, text: &str) {
        let mut sink = lock(&self.inner.sink);
        let _ = sink.write_all(text.as_bytes());
        let _ = sink.flush();
    }

    pub fn verbosity(&self) -> Verbosity {
        self.inner.verbosity
    }

    pub fn ci(&self) -> Ci {
        self.inner.ci
    }

    /// Register a secret value read from a file: scrubbed from our output from now on, and
    /// masked by GitHub Actions in the whole job log (including other steps).
    ///
    /// A multi-line value (a private key in a block scalar) is also registered line by line: a
    /// tool prints it a line at a time, and each printed line is scrubbed on its own. Lines of
    /// fewer than [`MIN_LINE`] characters (a lone `}` of a JSON secret) are left out, or every
    /// brace of the log would be starred.
    pub fn mask(&self, secret: &str) {
        let secret = secret.trim();
        if secret.is_empty() {
            return;
        }
        let mut parts = vec![secret];
        if secret.contains('\n') {
            parts.extend(
                secret
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.chars().count() >= MIN_LINE),
            );
        }
        let mut secrets = lock(&self.inner.secrets);
        let new: Vec<&str> = parts
            .into_iter()
            .filter(|p| !secrets.iter().any(|s| s == p))
            .collect();
        if new.is_empty() {
            return;
        }
        secrets.extend(new.iter().map(|p| p.to_string()));
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        drop(secrets);
        if self.inner.ci == Ci::GitHub {
            // The one place a secret is written out: the runner consumes this line and never shows
            // it. The runner masks one line per command, so a multi-line value is sent line by
            // line. A child log sends it to the top at once rather than into its buffer.
            let mut top = self;
            while let Some(p) = &top.inner.parent {
                top = p;
            }
            for line in new.iter().filter(|l| !l.contains('\n')) {
                top.raw(&format!("::add-mask::{line}"));
            }
        }
    }

    /// Replace every registered secret in `text` by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let secrets = lock(&self.inner.secrets);
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }

    /// How many bytes at the end of `text` are the start (not the whole) of a registered secret:
    /// what a cut line must lose too.
    pub fn partial_secret_suffix(&self, text: &str) -> usize {
        let secrets = lock(&self.inner.secrets);
        partial_secret_suffix(text, secrets.iter().map(String::as_str))
    }

    fn raw(&self, line: &str) {
        let mut sink = lock(&self.inner.sink);
        // Logging must never fail a deploy (a closed stderr is not a deploy failure).
        let _ = writeln!(sink, "{line}");
        let _ = sink.flush();
    }

    fn emit(&self, min: Verbosity, line: &str) {
        if self.inner.verbosity >= min {
            self.raw(&self.scrub(line));
        }
    }

    /// Start of a named section (a deploy step): a collapsible group on CI.
    pub fn section_start(&self, id: &str, title: &str) {
        match self.inner.ci {
            Ci::GitHub => self.emit(Verbosity::Quiet, &format!("::group::{title}")),
            Ci::Travis => self.emit(
                Verbosity::Quiet,
                &format!("travis_fold:start:{id}\r\x1b[0K==> {title}"),
            ),
            Ci::Plain => self.emit(Verbosity::Normal, &format!("==> {title}")),
        }
    }

    pub fn section_end(&self, id: &str) {
        match self.inner.ci {
            Ci::GitHub => self.emit(Verbosity::Quiet, "::endgroup::"),
            Ci::Travis => self.emit(Verbosity::Quiet, &format!("travis_fold:end:{id}\r\x1b[0K")),
            Ci::Plain => {}
        }
    }

    /// A command about to run.
    pub fn command(&self, line: &str) {
        self.emit(Verbosity::Normal, &format!("+ {line}"));
    }

    /// A line of a running command's output.
    pub fn output(&self, line: &str) {
        self.emit(Verbosity::Normal, &format!("  {line}"));
    }

    pub fn info(&self, msg: &str) {
        self.emit(Verbosity::Normal, msg);
    }

    pub fn debug(&self, msg: &str) {
        self.emit(Verbosity::Verbose, msg);
    }

    /// Whether [`Log::debug`] lines are written: a caller whose debug line costs something to
    /// make (a query's whole output, scrubbed) asks first.
    pub fn debug_on(&self) -> bool {
        self.inner.verbosity >= Verbosity::Verbose
    }

    /// Warnings are never buffered: a child log (one release's output) hands them to its
    /// parent at once, so a recovery or a lost lease is seen even when the release succeeds.
    pub fn warn(&self, msg: &str) {
        if let Some(parent) = &self.inner.parent {
            parent.warn(msg);
            return;
        }
        let line = match self.inner.ci {
            // one annotation, whatever the message holds: a line break in it (a file name from
            // a pull request) must not start a workflow command of its own
            Ci::GitHub => format!("::warning::{}", escape_data(msg)),
            _ => format!("warning: {msg}"),
        };
        self.emit(Verbosity::Quiet, &line);
    }

    pub fn error(&self, msg: &str) {
        self.error_at(msg, None);
    }

    /// An error, at a place in a file when it has one. On GitHub it is one `::error` annotation
    /// holding the whole message (a failed command's last lines too), escaped, with `file=`,
    /// `line=` and `col=` where known; elsewhere `error: …` lines.
    pub fn error_at(&self, msg: &str, at: Option<&Location>) {
        if self.inner.ci != Ci::GitHub {
            self.emit(Verbosity::Quiet, &format!("error: {msg}"));
            return;
        }
        // secrets out first: escaping changes the text the scrubber looks for
        let msg = self.scrub(msg);
        let props = at.map(Location::properties).unwrap_or_default();
        self.emit(
            Verbosity::Quiet,
            &format!("::error{props}::{}", escape_data(&msg)),
        );
    }
}

/// Where an error is, for a GitHub annotation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Location {
    /// ` file=…,line=…,col=…` (values escaped as workflow command properties).
    fn properties(&self) -> String {
        let mut out = format!(" file={}", escape_property(&self.file));
        if let Some(l) = self.line {
            out.push_str(&format!(",line={l}"));
            if let Some(c) = self.column {
                out.push_str(&format!(",col={c}"));
            }
        }
        out
    }
}

/// A workflow command's message as the GitHub runner reads it back: `%`, CR and LF escaped.
pub fn escape_data(msg: &str) -> String {
    msg.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as [`escape_data`], and `:` and `,` too (they end it).
pub fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// How many bytes at the end of `text` are a proper prefix of one of `secrets`.
pub fn partial_secret_suffix<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> usize {
    let mut longest = 0;
    for s in secrets {
        let s = s.trim();
        for k in (longest + 1..s.len()).rev() {
            if s.is_char_boundary(k) && text.ends_with(&s[..k]) {
                longest = k;
                break;
            }
        }
    }
    longest
}

/// Writes each whole line to `parent`, after `prefix` (a release's streamed output).
struct Prefixed {
    parent: Log,
    prefix: String,
    partial: Vec<u8>,
}

impl Write for Prefixed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            self.parent.write_raw(&format!(
                "{}{}",
                self.prefix,
                String::from_utf8_lossy(&line)
            ));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A poisoned lock only means another thread panicked while logging; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `Write` that appends to a shared buffer, for tests that inspect the log.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(ci: Ci) -> (Log, SharedBuf) {
        let buf = SharedBuf::default();
        (
            Log::with_sink(Verbosity::Normal, ci, Box::new(buf.clone())),
            buf,
        )
    }

    #[test]
    fn a_github_error_is_one_annotation_with_its_place_secrets_out_before_escaping() {
        let (log, buf) = log(Ci::GitHub);
        log.mask("FAKE-100%\n");
        let at = Location {
            file: "config/clusters/a,b/x:y.yaml".into(),
            line: Some(3),
            column: Some(7),
        };
        log.error_at("bad value FAKE-100%\nlast lines\r\nend", Some(&at));
        let text = buf.text();
        let line = text.lines().find(|l| l.starts_with("::error")).unwrap();
        assert_eq!(
            line,
            "::error file=config/clusters/a%2Cb/x%3Ay.yaml,line=3,col=7::bad value ***%0Alast lines%0D%0Aend"
        );
        assert_eq!(
            text.lines()
                .filter(|l| !l.starts_with("::add-mask::"))
                .count(),
            1
        );
        let (plain, buf) = super::tests::log(Ci::Plain);
        plain.error("two\nlines");
        assert_eq!(buf.text(), "error: two\nlines\n");
    }

    #[test]
    fn scrubs_registered_secrets() {
        let (log, buf) = log(Ci::Plain);
        log.mask("s3cr3t\n");
        log.info("password is s3cr3t!");
        assert_eq!(buf.text(), "password is ***!\n");
    }

    #[test]
    fn multi_line_secrets_are_masked_line_by_line() {
        let (log, buf) = log(Ci::GitHub);
        log.mask("-----BEGIN KEY-----\nFAKEline1abc\n}\nFAKEline2def\n-----END KEY-----\n");
        log.info("  FAKEline1abc");
        log.info("x FAKEline2def y }");
        let text = buf.text();
        let shown: String = text
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect();
        assert!(!shown.contains("FAKEline"), "{text}");
        assert!(text.contains("::add-mask::FAKEline1abc\n"), "{text}");
        assert!(
            !text.contains("::add-mask::}"),
            "a brace is not masked: {text}"
        );
        assert!(text.ends_with("  ***\nx *** y }\n"), "{text}");
    }

    #[test]
    fn github_groups_and_masks() {
        let (log, buf) = log(Ci::GitHub);
        log.mask("tok");
        log.section_start("build", "Build image");
        log.section_end("build");
        assert_eq!(
            buf.text(),
            "::add-mask::tok\n::group::Build image\n::endgroup::\n"
        );
    }

    #[test]
    fn travis_folds() {
        let (log, buf) = log(Ci::Travis);
        log.section_start("deploy", "Deploy");
        log.section_end("deploy");
        assert_eq!(
            buf.text(),
            "travis_fold:start:deploy\r\x1b[0K==> Deploy\ntravis_fold:end:deploy\r\x1b[0K\n"
        );
    }

    #[test]
    fn quiet_keeps_errors_only() {
        let buf = SharedBuf::default();
        let log = Log::with_sink(Verbosity::Quiet, Ci::Plain, Box::new(buf.clone()));
        log.info("hello");
        log.command("helm version");
        log.error("boom");
        assert_eq!(buf.text(), "error: boom\n");
    }
}
