//! sops-encrypted files: decrypted into private temp files (0600, removed when dropped, which
//! happens on success, failure and interruption alike), their values masked in logs.

use std::io::Write;
use std::path::Path;

use serde_yaml::Value;

use crate::cmd::Cmd;
use crate::log::Log;
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::sops;

use crate::config::secret_files::{is_secret_name, is_sops_encrypted};

/// Decrypted files, alive as long as this value (and removed on a fast exit: see
/// [`crate::signals`]).
#[derive(Default)]
pub struct Decrypted {
    files: Vec<crate::signals::TempFile>,
}

impl Decrypted {
    /// Write `content` to a new private temp file and return its path.
    pub fn keep(&mut self, content: &str, suffix: &str) -> std::io::Result<String> {
        // tempfile creates the file with mode 0600.
        let mut f = crate::signals::TempFile::new("deploy-secret-", suffix)?;
        f.as_file_mut().write_all(content.as_bytes())?;
        f.as_file_mut().flush()?;
        let path = f.path().display().to_string();
        self.files.push(f);
        Ok(path)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// How a file's secrets are found: every value of a secret values file, or only the
/// credentials of a credentials file (a service-account key, an AWS key, a kubeconfig), whose
/// other fields (`type: service_account`, a project, `Status: Active`) are ordinary words that
/// must stay readable in logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretKind {
    Values,
    Credentials,
}

/// Whether a credentials file's key names a credential: private keys and their ids, secrets,
/// tokens, passwords, key data, access keys. Keys naming a URL (`token_uri`) do not.
fn is_credential_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if k.ends_with("uri") || k.ends_with("url") {
        return false;
    }
    [
        "privatekey",
        "secret",
        "token",
        "password",
        "passwd",
        "keydata",
        "accesskey",
        "apikey",
        "credential",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// Register the secret values of a parsed document with the log. Values files: every string
/// (and number) of 6 characters or more; credentials: the values under credential keys.
fn mask_doc(log: &Log, v: &Value, kind: SecretKind) {
    fn all(log: &Log, v: &Value) {
        match v {
            Value::String(s) if s.len() >= 6 => log.mask(s),
            Value::Number(n) if n.to_string().len() >= 6 => log.mask(&n.to_string()),
            Value::Sequence(seq) => seq.iter().for_each(|x| all(log, x)),
            Value::Mapping(m) => m.values().for_each(|x| all(log, x)),
            Value::Tagged(t) => all(log, &t.value),
            _ => {}
        }
    }
    fn credentials(log: &Log, v: &Value) {
        match v {
            Value::Sequence(seq) => seq.iter().for_each(|x| credentials(log, x)),
            Value::Mapping(m) => {
                for (k, x) in m {
                    // a mapping under a credential-looking key (`AccessKey:`) is searched, not
                    // masked whole: its `Status: Active` is no secret
                    if k.as_str().is_some_and(is_credential_key) && !x.is_mapping() {
                        all(log, x);
                    } else {
                        credentials(log, x);
                    }
                }
            }
            Value::Tagged(t) => credentials(log, &t.value),
            _ => {}
        }
    }
    match kind {
        SecretKind::Values => all(log, v),
        SecretKind::Credentials => credentials(log, v),
    }
}

/// Parse a secret document (a secrets file or what sops printed), check it as helm would read it
/// (YAML or JSON, no repeated key) and register its secrets with the log. An error names the file
/// and what is wrong, never a value: a document that does not parse cannot be masked, so it must
/// not reach a tool that may print it.
pub fn check_and_mask(
    log: &Log,
    file: &str,
    text: &str,
    kind: SecretKind,
) -> Result<(), crate::config::ConfigError> {
    let redact = |mut e: crate::config::ConfigError| {
        e.message = crate::config::yaml::redact_quoted(&e.message);
        e
    };
    crate::config::yaml::check_depth(file, text)?;
    crate::config::yaml::check_keys(file, text).map_err(redact)?;
    let v: Value = serde_yaml::from_str(text)
        .map_err(|e| redact(crate::config::yaml::to_config_error(file, &e)))?;
    if kind == SecretKind::Values && !matches!(v, Value::Mapping(_) | Value::Null) {
        return Err(crate::config::ConfigError::new(
            file,
            "the top level is not a mapping: a values file must be `key: value` lines",
        )
        .field("(top level)"));
    }
    // A kubeconfig's secrets are its users' credentials; masking all of it would also hide
    // words like `Config` wherever they appear in logs (`ConfigMap/hub` became `***Map/hub`).
    match (v.get("kind").and_then(Value::as_str), v.get("users")) {
        (Some("Config"), Some(users)) => mask_doc(log, users, SecretKind::Credentials),
        _ => mask_doc(log, &v, kind),
    }
    Ok(())
}

/// What sops printed for each encrypted file this process decrypted and checked, by absolute
/// path: the pre-run checks decrypt every encrypted file a run needs, so that a file that does
/// not parse stops the run before anything starts (exit 2); the run then uses the same text
/// instead of running sops again.
static DECRYPTED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, String>>,
> = std::sync::LazyLock::new(Default::default);

fn cached(path: &Path) -> Option<String> {
    DECRYPTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(path)
        .cloned()
}

/// Use `text` as what `file` (under `root`) decrypts to from now on, without running sops:
/// `deploy diff`'s stand-in for a file it has no key for.
pub fn provide(root: &Path, file: &str, text: String) {
    DECRYPTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(root.join(file), text);
}

/// Decrypt `file` (repo-relative, sops-encrypted), check the output and mask its secrets; `None`
/// in a dry run. The text is kept for the rest of the process.
pub fn decrypt_checked(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    file: &str,
    kind: SecretKind,
) -> Result<Option<String>, DecryptError> {
    let abs = root.join(file);
    if let Some(t) = cached(&abs) {
        return Ok(Some(t));
    }
    let cmd: Cmd = sops::decrypt(file);
    let Reply::Ran(o) = runner.run(&cmd)? else {
        return Ok(None);
    };
    check_and_mask(log, file, &o.stdout, kind).map_err(DecryptError::Invalid)?;
    DECRYPTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(abs, o.stdout.clone());
    Ok(Some(o.stdout))
}

/// Why a file could not be decrypted: sops failed, or what it printed is not a document we can
/// hand to a tool (a config error: exit 2 when found before the run).
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error("{0}")]
    Invalid(crate::config::ConfigError),
}

/// The file to hand to a tool for `file` (repo-relative; a values file, or a credentials file
/// with [`SecretKind::Credentials`]): the file itself, or a decrypted copy. In a dry run, a
/// placeholder naming the file.
pub fn plain_path(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    file: &str,
    kind: SecretKind,
    out: &mut Decrypted,
) -> Result<String, CmdError> {
    // missing or unreadable: the tool says so, naming the file
    let text = crate::config::files::read_text(&root.join(file)).unwrap_or_default();
    if !is_sops_encrypted(&text) {
        // A plain file that holds secrets (`secrets/<chart>.yaml`, `*.secret.values.yaml`):
        // its values are masked too, since a tool may print what it was given. The pre-run
        // checks refused one that does not parse.
        if is_secret_name(file) {
            let _ = check_and_mask(log, file, &text, kind);
        }
        return Ok(file.to_string());
    }
    let decrypted = decrypt_checked(runner, log, root, file, kind).map_err(|e| match e {
        DecryptError::Cmd(c) => c,
        DecryptError::Invalid(c) => CmdError::Failed {
            cmd: sops::decrypt(file).line(),
            status: "output that is not a valid document".into(),
            tail: c.to_string(),
        },
    })?;
    let Some(text) = decrypted else {
        return Ok(format!("<decrypted {file}>"));
    };
    let suffix = Path::new(file)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    out.keep(&text, &suffix).map_err(|e| CmdError::Spawn {
        cmd: sops::decrypt(file).line(),
        reason: format!("cannot write the decrypted file: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn log() -> Log {
        Log::with_sink(
            crate::log::Verbosity::Normal,
            crate::log::Ci::Plain,
            Box::new(crate::log::SharedBuf::default()),
        )
    }

    #[test]
    fn a_kubeconfig_masks_its_users_credentials_only() {
        let log = log();
        check_and_mask(
            &log,
            "k.yaml",
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gamma\n  cluster: {server: https://gamma.example}\nusers:\n- name: deployer\n  user: {token: FAKE-token-123456}\n",
            SecretKind::Credentials,
        )
        .unwrap();
        assert_eq!(
            log.scrub("ConfigMap/hub on https://gamma.example as deployer with FAKE-token-123456"),
            "ConfigMap/hub on https://gamma.example as deployer with ***"
        );
        // a secret values file: every value
        check_and_mask(
            &log,
            "v.yaml",
            "key: FAKE-other-value\nkind: Config\n",
            SecretKind::Values,
        )
        .unwrap();
        assert_eq!(log.scrub("FAKE-other-value ConfigMap"), "*** ***Map");
    }

    #[test]
    fn credentials_files_mask_credentials_and_nothing_else() {
        let log = log();
        let sa = r#"{"type": "service_account", "project_id": "hub-project-123",
            "private_key_id": "FAKE0123456789", "private_key": "-----BEGIN PRIVATE KEY-----\nFAKEKEYLINEONE\nFAKEKEYLINETWO\n-----END PRIVATE KEY-----\n",
            "client_email": "deployer@hub-project-123.iam.example", "client_id": "1234567890",
            "token_uri": "https://oauth2.example/token"}"#;
        check_and_mask(&log, "gcp.json", sa, SecretKind::Credentials).unwrap();
        let aws = r#"{"AccessKey": {"UserName": "deployer", "Status": "Active",
            "AccessKeyId": "AKIAFAKEFAKE", "SecretAccessKey": "FAKE/secret/KEY"}}"#;
        check_and_mask(&log, "aws.json", aws, SecretKind::Credentials).unwrap();
        let shown = log.scrub(
            "--project=hub-project-123 service_account Active deployer https://oauth2.example/token \
             FAKE0123456789 FAKEKEYLINEONE FAKEKEYLINETWO AKIAFAKEFAKE FAKE/secret/KEY",
        );
        assert_eq!(
            shown,
            "--project=hub-project-123 service_account Active deployer https://oauth2.example/token \
             *** *** *** *** ***"
        );
    }

    #[test]
    fn a_secret_document_that_does_not_parse_is_refused_without_its_values() {
        let log = log();
        let e = check_and_mask(
            &log,
            "s.yaml",
            "a: FAKE-dup-1\na: FAKE-dup-2\n",
            SecretKind::Values,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.yaml:2:1: duplicate key `a` (first at line 1): a key may appear once"
        );
        let e =
            check_and_mask(&log, "s.yaml", "a: \"FAKE-unclosed\n", SecretKind::Values).unwrap_err();
        assert!(!e.to_string().contains("FAKE"), "{e}");
        let e = check_and_mask(&log, "s.yaml", "- FAKE-item\n", SecretKind::Values).unwrap_err();
        assert!(e.to_string().contains("not a mapping"), "{e}");
    }

    #[test]
    fn decrypted_files_are_private_and_removed() {
        let mut d = Decrypted::default();
        let p = d.keep("secret: FAKE-s3cr3t\n", ".yaml").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(p.ends_with(".yaml"));
        drop(d);
        assert!(!Path::new(&p).exists());
    }
}
