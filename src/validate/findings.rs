//! What validation works on and finds: the releases whose values to check, what was found
//! (problems and notices), and how encrypted files are decrypted (a callback: validation starts
//! no process).

use crate::config::ConfigError;

/// What validation found: problems (exit 2) and notices (things not checked, and why).
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<ConfigError>,
    pub notices: Vec<Notice>,
}

/// Something not checked, and why. JSON shows its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    /// Why, with the file's name taken out, for a notice that says the same of many files (no
    /// sops here, no key to decrypt with): the log says it once, with a count.
    pub reason: Option<String>,
}

impl Notice {
    /// `text` says of `file` that it was not checked because of `why`.
    pub fn about_file(text: String, file: &str, why: &str) -> Notice {
        Notice {
            text,
            reason: Some(why.replace(file, "<file>")),
        }
    }
}

impl serde::Serialize for Notice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Log notices as warnings, in order; notices with the same reason once, at the first of them,
/// with how many more there are (each of them only with `-v`): 300 encrypted files that a
/// laptop without the cloud key cannot decrypt are one warning, not 300.
pub fn log_notices(notices: &[Notice], log: &crate::log::Log) {
    let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in notices.iter().filter_map(|n| n.reason.as_deref()) {
        *count.entry(r).or_default() += 1;
    }
    let mut said = std::collections::HashSet::new();
    let verbose = log.verbosity() >= crate::log::Verbosity::Verbose;
    for n in notices {
        match n.reason.as_deref().map(|r| (r, count[r])) {
            Some((r, more @ 2..)) if said.insert(r) && !verbose => log.warn(&format!(
                "{}\n  (and {} more for the same reason: -v lists them)",
                n.text,
                more - 1
            )),
            Some((_, 2..)) if !verbose => log.debug(&n.text),
            _ => log.warn(&n.text),
        }
    }
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
