//! One external command as a plain value.
//!
//! Every process `deploy` starts is described by a [`Cmd`] first. Tests compare `Cmd`s, the dry
//! runner prints them, the real runner executes them: the same value on every path, so what a dry
//! run shows is what a real run does. Secret arguments, environment values and stdin are carried as
//! [`Arg::Secret`] and never appear in `Display`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One argument (or env value, or stdin) of a command.
#[derive(Clone, PartialEq, Eq)]
pub enum Arg {
    Plain(String),
    /// Shown as `***` everywhere; only the real runner sees the value.
    Secret(String),
    /// A value that differs on every run (a private temp path), shown as a stable description
    /// (`<private-kubeconfig>`) so printed plans and dry runs stay the same from run to run.
    Shown {
        value: String,
        shown: String,
    },
}

impl Default for Arg {
    fn default() -> Self {
        Arg::Plain(String::new())
    }
}

impl Arg {
    pub fn value(&self) -> &str {
        match self {
            Arg::Plain(s) | Arg::Secret(s) | Arg::Shown { value: s, .. } => s,
        }
    }
}

impl fmt::Debug for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Plain(s) => write!(f, "{s:?}"),
            Arg::Secret(_) => f.write_str("***"),
            Arg::Shown { shown, .. } => f.write_str(shown),
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Plain(s) => f.write_str(&quote(s)),
            Arg::Secret(_) => f.write_str("***"),
            Arg::Shown { shown, .. } => f.write_str(shown),
        }
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Plain(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Plain(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Plain(s.clone())
    }
}

/// What running a command does to the world. The dry runner uses this to decide what it may run:
/// only local read-only queries (`git log`) run during `--dry-run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Reads local state only; safe to run in a dry run.
    LocalQuery,
    /// Asks a registry or cluster; a dry run cannot know the answer.
    RemoteQuery,
    /// Changes something (credentials, images, releases).
    Change,
    /// Prints a secret (`sops --decrypt`): captured, never logged, not run in a dry run.
    Decrypt,
}

/// An external command: program, argv, env, cwd, stdin, and how to treat it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<Arg>,
    pub env: Vec<(String, Arg)>,
    pub cwd: Option<PathBuf>,
    pub stdin: Option<Arg>,
    /// Kill the command after this long (a watchdog on top of the tools' own `--timeout`s).
    pub timeout: Option<Duration>,
    pub effect: Effect,
    /// A probe's non-zero exit is an answer ("no"), not a failure.
    pub probe: bool,
    /// Conditions shown in a dry run, e.g. "if the tag is not in the registry".
    pub notes: Vec<String>,
    /// Cleanup (releasing a lease): still run after Ctrl-C/SIGTERM, when nothing new starts.
    pub cleanup: bool,
    /// Shown instead of a (plain, long) stdin: `kubectl create -f - < Lease ea-hub/deploy-ea-hub`.
    pub stdin_desc: Option<String>,
    /// What it prints may hold secrets (rendered manifests, release values): never logged.
    pub private_output: bool,
    /// The user's own shell or command (`deploy credentials`): the terminal's stdin, stdout and
    /// stderr, nothing captured; a Ctrl-C typed in it is its own, not the run's.
    pub interactive: bool,
}

impl Cmd {
    pub fn new(program: &str) -> Self {
        Cmd {
            program: program.to_string(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            stdin: None,
            timeout: None,
            effect: Effect::Change,
            probe: false,
            notes: Vec::new(),
            cleanup: false,
            stdin_desc: None,
            private_output: false,
            interactive: false,
        }
    }

    /// See [`Cmd::interactive`].
    pub fn interactive(mut self) -> Self {
        self.interactive = true;
        self.cleanup = true;
        // its exit code is the user's to read
        self.probe = true;
        self
    }

    pub fn arg(mut self, a: impl Into<Arg>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<Arg>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn secret_arg(mut self, s: &str) -> Self {
        self.args.push(Arg::Secret(s.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<Arg>) -> Self {
        self.env.push((key.to_string(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// A document on stdin, shown in command lines by its description.
    pub fn stdin_doc(mut self, content: &str, desc: &str) -> Self {
        self.stdin = Some(Arg::Plain(content.to_string()));
        self.stdin_desc = Some(desc.to_string());
        self
    }

    pub fn secret_stdin(mut self, s: &str) -> Self {
        self.stdin = Some(Arg::Secret(s.to_string()));
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    pub fn effect(mut self, e: Effect) -> Self {
        self.effect = e;
        self
    }

    /// A read-only local query (runs even in a dry run).
    pub fn local_query(self) -> Self {
        self.effect(Effect::LocalQuery)
    }

    /// A question to a registry or cluster whose non-zero exit means "no".
    pub fn remote_probe(mut self) -> Self {
        self.probe = true;
        self.effect(Effect::RemoteQuery)
    }

    /// A local read-only question whose non-zero exit is still an answer (a version probe: an
    /// old tool may print its version and fail on the rest).
    pub fn local_probe(mut self) -> Self {
        self.probe = true;
        self.local_query()
    }

    /// Its output may hold secrets: captured, never logged (not even with --verbose).
    pub fn private_output(mut self) -> Self {
        self.private_output = true;
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Self {
        let n = n.into();
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
        self
    }

    /// The argv as plain strings, for the real runner only (secrets in clear).
    pub fn argv_clear(&self) -> Vec<&str> {
        self.args.iter().map(Arg::value).collect()
    }

    /// Every secret value this command carries, so logs can be scrubbed and CI can mask them.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let all = self
            .args
            .iter()
            .chain(self.env.iter().map(|(_, v)| v))
            .chain(self.stdin.iter());
        for a in all {
            if let Arg::Secret(s) = a {
                out.push(s.as_str());
            }
        }
        out
    }

    /// The redacted command line without notes: `helm upgrade --install …`. The environment is
    /// left out: it holds per-run temp paths (a private KUBECONFIG) that would make every printed
    /// plan differ; [`Cmd::env_line`] shows it.
    pub fn line(&self) -> String {
        let mut s = quote(&self.program);
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string());
        }
        match (&self.stdin, &self.stdin_desc) {
            (Some(Arg::Plain(_)), Some(desc)) => s.push_str(&format!(" < {desc}")),
            (Some(stdin), _) => s.push_str(&format!(" <<< {stdin}")),
            (None, _) => {}
        }
        s
    }
}

impl Cmd {
    /// The environment this command adds, redacted: `KUBECONFIG=/tmp/… TOKEN=***`.
    pub fn env_line(&self) -> String {
        let parts: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.join(" ")
    }
}

/// Redacted command line followed by its notes in parentheses.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())?;
        if !self.notes.is_empty() {
            write!(f, " ({})", self.notes.join("; "))?;
        }
        Ok(())
    }
}

/// Quote a word the way a POSIX shell would need it, so printed lines can be pasted.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,^<>".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_everywhere() {
        let c = Cmd::new("docker")
            .args(["login", "-u", "me", "--password-stdin"])
            .secret_stdin("hunter2")
            .env("TOKEN", Arg::Secret("tok-123".into()))
            .secret_arg("pw-456");
        let shown = format!("{c} {c:?}");
        for s in ["hunter2", "tok-123", "pw-456"] {
            assert!(!shown.contains(s), "{s} leaked in {shown}");
        }
        assert_eq!(c.secrets(), vec!["pw-456", "tok-123", "hunter2"]);
        assert_eq!(c.line(), "docker login -u me --password-stdin *** <<< ***");
        assert_eq!(c.env_line(), "TOKEN=***");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("--set-string=a.b=c"), "--set-string=a.b=c");
        // placeholders in dry-run output stay readable
        assert_eq!(quote("<deployment>"), "<deployment>");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn notes_display() {
        let c = Cmd::new("docker")
            .arg("build")
            .note("if the tag is not in the registry")
            .note("if the tag is not in the registry");
        assert_eq!(
            c.to_string(),
            "docker build (if the tag is not in the registry)"
        );
    }
}
