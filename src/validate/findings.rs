//! What validation works on and finds: the releases whose values to check, what was found
//! (problems and notices), and how encrypted files are decrypted (a callback: validation starts
//! no process).

use crate::config::ConfigError;

/// What validation found: problems (exit 2) and notices (things not checked, and why).
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<ConfigError>,
    pub notices: Vec<String>,
}

/// Why an encrypted file's content was not checked.
#[derive(Clone, Debug)]
pub enum Undecrypted {
    /// It could not be decrypted here (no sops, no key, a dry run): a notice.
    Skipped(String),
    /// sops printed something that is not a valid document: a problem.
    Invalid(ConfigError),
}

/// Decrypts a sops file (repo-relative path), or says why it did not.
pub type Decrypt<'a> = &'a (dyn Fn(&str) -> Result<String, Undecrypted> + Sync);

/// Renders a jsonnet values file (repo-relative path) with the release's variables into JSON
/// text, or says why it did not (no jsonnet here: a notice; a render error: a problem).
pub type Render<'a> =
    &'a (dyn Fn(&crate::plan::release::ReleaseSpec, &str) -> Result<String, Undecrypted> + Sync);

/// How validation reads what it cannot read itself: both start a program, which only the
/// caller may do. Shared by the threads that check releases, so each must be `Sync`.
#[derive(Clone, Copy)]
pub struct Readers<'a> {
    pub decrypt: Decrypt<'a>,
    /// The encrypted files about to be asked for: decrypt them now, several at once.
    pub prefetch: &'a (dyn Fn(&[String]) + Sync),
    pub render: Render<'a>,
}

/// A release whose values to check: cluster, release name, chart folder, values files in order.
#[derive(Clone, Debug)]
pub struct ValuesCheck {
    /// The cluster folder the values files must stay in (none in the legacy layout).
    pub dir: Option<String>,
    pub cluster: String,
    /// The release as the resolver resolved it.
    pub spec: crate::plan::release::ReleaseSpec,
}
