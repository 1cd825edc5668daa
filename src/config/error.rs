//! Config and usage errors: exit status 2, and nothing was run.

use std::fmt;

/// One problem in one config file, located as precisely as the YAML parser allows:
/// `deploy.yaml:7:3: gcloud: unknown field `zonee`, expected one of …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Repo-relative path of the file (or the folder) at fault.
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted path of the field, when known (`gcloud.zone`).
    pub field: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Several config problems at once: we report all of them, not just the first.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

/// Programs missing from PATH: a setup problem found before anything ran (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("required programs not found on PATH: {} (install them or fix PATH; nothing was run)", .0.join(", "))]
pub struct MissingPrograms(pub Vec<String>);

/// A command-line mistake (unknown chart, bad flag value).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
